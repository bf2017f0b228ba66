// GOV.UK Frontend's behaviour (error summary focus, password reveal, menu toggle), loaded as a
// module file so that the Content-Security-Policy needs no inline script beyond the template's.
import { initAll } from "/assets/frontend/govuk-frontend.min.js";

initAll();
