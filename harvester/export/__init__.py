"""Export approved stories: feeds, signed publishing, consent, erasure and retention.

``items`` turns a stored story into the public item every format shares, and decides
whether a story goes out, is held back or is taken back. ``feeds`` writes JSON Feed,
Atom and CSV; ``publish`` sends the same items to the community site.
"""
