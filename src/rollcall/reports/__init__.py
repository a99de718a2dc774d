"""Report writers, one module per format, all fed the same RunResult."""
