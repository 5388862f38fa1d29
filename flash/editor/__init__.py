"""The web editor: Decap CMS, configured from the content model, on the same Markdown files
Flash reads (locally through `flash serve`, online through a Git host)."""
