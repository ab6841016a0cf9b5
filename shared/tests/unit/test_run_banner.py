"""What `make run` prints about replicas (``MINATO_REPLICAS``)."""

from __future__ import annotations

from pathlib import Path

from shared.devstack.__main__ import _replicas_line
from shared.devstack.stack import Stack, StackOptions


def test_a_single_process_stack_prints_no_replica_line(tmp_path: Path) -> None:
    assert _replicas_line(Stack(StackOptions(data_dir=tmp_path))) == ""


def test_replicas_name_their_count_and_every_other_gateway(tmp_path: Path) -> None:
    stack = Stack(StackOptions(data_dir=tmp_path, replicas=3))
    line = _replicas_line(stack)
    assert "3 of every service" in line
    assert "http://127.0.0.1:8100" in line
    assert "http://127.0.0.1:8200" in line
