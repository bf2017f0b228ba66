"""The improvement pathway: what an overall grade that opens it (inadequate) sets in motion, as
the framework file lists it: plan tasks, an improvement board's meetings, progress reports."""
