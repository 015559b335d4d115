"""Execute a Jupyter notebook with the Deno kernel and save the executed copy.

Usage: run_notebook.py NOTEBOOK OUTPUT [--timeout SECONDS] [--kernel NAME] [--drain SECONDS]

The Deno kernel sometimes reports `status: idle` before it has sent all of a
cell's outputs, and nbclient stops reading a cell's messages at idle, so those
outputs were lost. This runner keeps reading the cell's IOPub messages after idle
until the channel has been quiet for --drain seconds.

Exit codes: 0 when every cell ran, 1 when a cell raised an error (the executed
notebook is still written), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


class DrainingClient(NotebookClient):
    """NotebookClient that keeps collecting a cell's outputs briefly after idle."""

    drain_seconds = 1.0

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        await super()._async_poll_output_msg(parent_msg_id, cell, cell_index)
        while True:
            try:
                msg = await self.kc.iopub_channel.get_msg(timeout=self.drain_seconds)
            except (asyncio.TimeoutError, TimeoutError):
                return
            except Exception as error:  # queue.Empty from the channel
                if type(error).__name__ == "Empty":
                    return
                raise
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                continue
            if msg["msg_type"] == "status":
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except Exception as error:  # CellExecutionComplete for a second idle
                if type(error).__name__ != "CellExecutionComplete":
                    raise


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook")
    parser.add_argument("output")
    parser.add_argument("--timeout", type=int, default=900, help="seconds a cell may run")
    parser.add_argument("--kernel", default="deno")
    parser.add_argument("--drain", type=float, default=1.0, help="seconds of quiet that end a cell's output")
    args = parser.parse_args(argv)

    path = Path(args.notebook).resolve()
    notebook = nbformat.read(path, as_version=4)
    client = DrainingClient(
        notebook,
        timeout=args.timeout,
        kernel_name=args.kernel,
        resources={"metadata": {"path": str(path.parent)}},
        allow_errors=False,
    )
    client.drain_seconds = args.drain
    status = 0
    try:
        client.execute()
    except CellExecutionError as error:
        print(f"{path.name}: a cell failed:\n{error}", file=sys.stderr)
        status = 1
    finally:
        nbformat.write(notebook, args.output)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
