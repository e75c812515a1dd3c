"""Text accepted from clients holds no control characters.

PostgreSQL refuses NUL in text, and other control characters are invisible in the e-mails, logs
and notifications the text ends up in. So they are refused at the edge with a 422, wherever text
is accepted, by the fields' patterns, which the OpenAPI documents show (lone surrogates never
get that far: they are not valid UTF-8).
"""

#: C0 controls, DEL and C1 controls, as the inside of a regex character class.
CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f"

#: A whole string without control characters.
NO_CONTROL_CHARACTERS = rf"^[^{CONTROL_CHARACTERS}]*$"
