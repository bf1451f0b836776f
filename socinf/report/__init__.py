"""Reports: the terminal summary of a run, tables and figures of a run or sweep."""
