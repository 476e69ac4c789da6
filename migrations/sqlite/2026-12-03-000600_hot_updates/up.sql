-- PostgreSQL's migration of this name leaves room on each page for updates in place
-- (fillfactor). SQLite has no such setting: a row is rewritten in its B-tree page, and
-- its indexes change only when an indexed column does. Nothing to do here; the
-- migration exists so both backends have the same list.
SELECT 1;
