ALTER TABLE tokens RESET (fillfactor);
ALTER TABLE users RESET (fillfactor);
