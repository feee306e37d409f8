"""dangka: an expert checker for the household archives of targeted poverty alleviation."""

__version__ = "0.1.0"
