"""attribo: self-hostable mobile attribution and growth intelligence."""

__version__ = "0.1.0"
