"""Query side: a query string → parsed, understood and compiled query, and the opened version it runs on."""
