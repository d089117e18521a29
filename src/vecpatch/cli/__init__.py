"""The command-line shell: parse, call the core, render. Only this package prints or exits."""
