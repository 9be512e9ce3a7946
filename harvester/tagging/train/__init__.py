"""Fine-tuning of the person NER that ships in ``harvester/tagging/model``.

``prepare`` turns the public CoNLL sets and generated email-style sentences into
spaCy DocBin files, ``run`` calls ``spacy train`` with ``config.cfg`` and installs
the result, and ``score`` measures exact-span person precision, recall and F1.
"""
