"""Text accepted from clients: no control characters and no lone surrogates.

PostgreSQL refuses NUL in text and lone surrogates in UTF-8, and other control characters
are invisible in the e-mails, logs and notifications the text ends up in. So they are
refused at the edge with a 422, wherever text is accepted.
"""

import unicodedata

#: Unicode categories refused: controls (C0, DEL, C1) and surrogates.
REFUSED_CATEGORIES = {"Cc": "a control character", "Cs": "a lone surrogate"}


def refuse_control_characters(text: str) -> str:
    """`text` unchanged, or ValueError naming the first refused character and its position."""
    for position, char in enumerate(text):
        kind = REFUSED_CATEGORIES.get(unicodedata.category(char))
        if kind:
            raise ValueError(f"{kind} (U+{ord(char):04X}) at position {position} is not allowed")
    return text
