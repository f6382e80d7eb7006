"""Excel workbooks and their scheduled delivery."""
