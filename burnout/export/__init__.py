"""Writers that render view objects as files: PDF, XLSX, CSV."""
