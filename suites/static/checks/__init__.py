"""One module per promise. Each check takes a rendered overlay and returns its violations, one
sentence each; an empty list means the promise holds. Tests call the same function on the real
overlays (no violations) and on broken copies (negative controls)."""
