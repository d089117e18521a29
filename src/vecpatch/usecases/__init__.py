"""The use cases: one function per command, called by the CLI, workers, ``watch`` and the web.

Each module holds one use case (``scan``, ``plan``, ``stage``, ``apply``, ``rollback``): it
takes its request and policy as data and returns an immutable result. The shell
(``vecpatch.cli``) and the automation layer are thin callers of these; nothing here prints
or exits, and nothing here imports from ``vecpatch.cli``, ``vecpatch.automation`` or
``vecpatch.web``.
"""
