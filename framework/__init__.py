"""The Outcomes Explorer engine: reads returns, keeps the store, computes indicators.

Pure Python: this package never imports streamlit (app_pages/ draw what it returns).
"""

__version__ = "0.1.0"
