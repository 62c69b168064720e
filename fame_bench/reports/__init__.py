"""Reports: the tables a reproduction runs, their statistics and verdicts, and the Markdown,
data files and figures written from the run records."""
