"""Runs a command with this process's stdin, copying its stdout through line by line and writing every line that is
not a JSON object to the file named first (for the test that `rag mcp` prints nothing but the protocol).

    python tests/serve/stdout_tee.py STRAY_FILE COMMAND...
"""

import json
import subprocess
import sys

stray_file, command = sys.argv[1], sys.argv[2:]
child = subprocess.Popen(command, stdout=subprocess.PIPE)
with open(stray_file, "w", encoding="utf-8") as stray:
    for line in child.stdout:
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
        try:
            if not isinstance(json.loads(line), dict):
                raise ValueError
        except ValueError:
            stray.write(line.decode("utf-8", "replace"))
            stray.flush()
sys.exit(child.wait())
