"""Reports built only from stored records: terminal/Markdown summary here, HTML/CSV/JSON beside it."""
