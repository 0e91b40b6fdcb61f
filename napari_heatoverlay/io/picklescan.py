"""Measure a pickle stream without running it, before anyone unpickles it.

Even PyTorch's safe loader (``weights_only=True``) builds whatever containers
a pickle describes. A few hundred bytes can describe lists nested 10,000 deep,
or a "billion laughs": ten references to a list of ten references to a list of
ten ..., which is small in memory but explodes for any code that walks it.

:class:`PickleScanner` reads the opcodes with :func:`pickletools.genops`
(which parses, and never imports or calls anything), replays their effect on
a model of the unpickler's stack and memo, and refuses a stream with too many
opcodes or memo references, too deep a nesting, or too many elements reached
when shared references are followed. It also collects the tensor storages
that PyTorch's persistent ids declare, so that their sizes can be checked
before ``torch.load`` allocates them.
"""

from __future__ import annotations

import pickletools
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, BinaryIO

from napari_heatoverlay.io.refusal import DAMAGED, Refusal

__all__ = ["PickleLimits", "PickleScanner", "StorageRef"]

_TRIM = (
    "If the file is genuine, keep only the tensors you want to see (for example "
    "{name: tensor}) and save them again with torch.save"
)
#: Element sizes of PyTorch storage types, by class name; UntypedStorage
#: counts bytes. Unknown names get the largest element size, 16.
_ELEMENT_SIZES = {
    "DoubleStorage": 8,
    "FloatStorage": 4,
    "HalfStorage": 2,
    "LongStorage": 8,
    "IntStorage": 4,
    "ShortStorage": 2,
    "CharStorage": 1,
    "ByteStorage": 1,
    "BoolStorage": 1,
    "BFloat16Storage": 2,
    "ComplexDoubleStorage": 16,
    "ComplexFloatStorage": 8,
    "QInt8Storage": 1,
    "QInt32Storage": 4,
    "QUInt8Storage": 1,
    "QUInt4x2Storage": 1,
    "QUInt2x4Storage": 1,
    "UntypedStorage": 1,
}


@dataclass(frozen=True)
class PickleLimits:
    """How much structure one file's pickles may describe.

    The defaults leave ample room for real checkpoints: a state dict takes
    about 32 opcodes and 5 memo references per tensor, so two million opcodes
    is some 60,000 tensors (which torch itself takes some 12 s to load);
    scanning that many takes about four seconds. Nesting in checkpoints
    rarely passes 20 levels.

    Attributes
    ----------
    max_opcodes : int
        Opcodes over all pickles of the file.
    max_memo_refs : int
        Memo references (``GET`` opcodes): each shares an object again.
    max_depth : int
        Nesting depth of containers.
    max_elements : int
        Objects reached from the top, counting a shared object once per
        reference to it (what a naive walk of the result would visit).
    """

    max_opcodes: int = 2_000_000
    max_memo_refs: int = 1_000_000
    max_depth: int = 100
    max_elements: int = 4_000_000


@dataclass(frozen=True)
class StorageRef:
    """A tensor storage a PyTorch pickle refers to by persistent id.

    Attributes
    ----------
    key : str
        The storage's name in the file (``data/<key>`` in the zip format).
    type_name : str
        The storage class, ``"torch FloatStorage"`` for example.
    numel : int
        Its declared number of elements.
    """

    key: str
    type_name: str
    numel: int

    @property
    def nbytes(self) -> int:
        """Declared size in bytes (16 bytes per element for an unknown type)."""
        return self.numel * _ELEMENT_SIZES.get(self.type_name.split(" ")[-1], 16)


class PickleScanner:
    """Scan one or more pickles, keeping totals and storages across them.

    Parameters
    ----------
    limits : PickleLimits, optional
        The bounds to enforce.

    Examples
    --------
    >>> import io, pickle
    >>> scanner = PickleScanner()
    >>> stream = io.BytesIO(pickle.dumps({"a": [1, 2, 3]}, protocol=2))
    >>> scanner.scan(stream) == len(stream.getvalue())
    True
    >>> nested = b"\\x80\\x02" + b"]" * 5_000 + b"a" * 4_999 + b"."
    >>> try:
    ...     PickleScanner().scan(io.BytesIO(nested))
    ... except Refusal as refusal:
    ...     print(refusal.problem)
    its pickle nests containers more than 100 deep
    """

    def __init__(self, limits: PickleLimits | None = None) -> None:
        self.limits = limits or PickleLimits()
        self.opcodes = 0
        self.memo_refs = 0
        self.storages: dict[str, StorageRef] = {}

    def scan(self, stream: BinaryIO) -> int:
        """Scan the pickle starting at `stream`'s position, up to its STOP.

        Parameters
        ----------
        stream : io.BytesIO or mmap.mmap
            Positioned at the start of a pickle; left just after its STOP.
            Its ``read(n)`` must not allocate `n` bytes before finding fewer
            (a pickle argument declares its own length), which rules out a
            plain file.

        Returns
        -------
        int
            The position just after the pickle's STOP opcode.

        Raises
        ------
        Refusal
            If the pickle passes a limit or is not a well-formed pickle.
        """
        # no tell(): genops would call it for every opcode
        reader = SimpleNamespace(read=stream.read, readline=stream.readline)
        try:
            root = self._replay(pickletools.genops(reader))
        except Refusal:
            raise
        # genops raises ValueError on unknown opcodes and short arguments; the
        # stack model raises IndexError and KeyError on impossible sequences
        except (ValueError, IndexError, KeyError, EOFError) as error:
            raise Refusal(f"it holds a damaged pickle ({error})", DAMAGED) from error
        _measure(root, self.limits)
        return stream.tell()

    def _replay(self, ops: Iterator[tuple[Any, Any, Any]]) -> Any:
        limits = self.limits
        max_opcodes = limits.max_opcodes - self.opcodes
        stack: list[Any] = []
        metastack: list[list[Any]] = []
        memo: dict[int, Any] = {}
        kinds = _KINDS
        for count, (opcode, arg, _position) in enumerate(ops, 1):
            if count > max_opcodes:
                raise Refusal(
                    f"its pickle has more than {limits.max_opcodes:,} opcodes", _TRIM
                )
            kind = kinds.get(opcode, _GENERIC)
            if kind is _VALUE:
                stack.append(arg)
            elif kind is _MEMO_PUT:
                memo[arg] = stack[-1]
            elif kind is _MARK:
                metastack.append(stack)
                stack = []
            elif kind is _GENERIC:
                popped, stack = _pop(opcode, stack, metastack)
                stack.extend(_Node(popped) for _ in opcode.stack_after)
            elif kind is _MEMO_GET:
                self.memo_refs += 1
                if self.memo_refs > limits.max_memo_refs:
                    raise Refusal(
                        f"its pickle has more than {limits.max_memo_refs:,} memo "
                        "references (shared objects)",
                        _TRIM,
                    )
                stack.append(memo[arg])
            elif kind is _IN_PLACE:
                popped, stack = _pop(opcode, stack, metastack)
                target = popped[0]
                if not isinstance(target, _Node):
                    target = _Node([])
                target.children.extend(popped[1:])
                stack.append(target)
            elif kind is _EMPTY:
                stack.append(_Node([]))
            elif kind is _PERSISTENT:
                (pid,), stack = _pop(opcode, stack, metastack)
                self._note_storage(pid)
                stack.append(_Node([pid]))
            elif kind is _MEMOIZE:
                memo[len(memo)] = stack[-1]
            elif kind is _STACK_GLOBAL:
                (module, name), stack = _pop(opcode, stack, metastack)
                stack.append(f"{module} {name}")
            elif kind is _DUP:
                stack.append(stack[-1])
            elif kind is _POP:
                if stack:
                    stack.pop()
                else:
                    stack = metastack.pop()
            elif kind is _STOP:
                self.opcodes += count
                return stack.pop()
        raise ValueError("the pickle ends before its STOP opcode")

    def _note_storage(self, pid: Any) -> None:
        if not isinstance(pid, _Node) or len(pid.children) < 5:
            return
        tag, type_name, key, _location, numel = pid.children[:5]
        if tag == "storage" and isinstance(numel, int) and numel >= 0:
            name = type_name if isinstance(type_name, str) else "unknown"
            previous = self.storages.get(str(key))
            if previous is None or previous.numel < numel:
                self.storages[str(key)] = StorageRef(str(key), name, numel)


class _Node:
    """A container (or built object) in the model of the unpickler's stack."""

    __slots__ = ("children", "depth", "elements", "state")

    def __init__(self, children: list[Any]) -> None:
        self.children = children
        self.state = _NEW
        self.elements = 1
        self.depth = 0


_NEW, _OPEN, _DONE = 0, 1, 2
(
    _VALUE,
    _MEMO_PUT,
    _MEMO_GET,
    _IN_PLACE,
    _EMPTY,
    _MARK,
    _GENERIC,
    _PERSISTENT,
    _MEMOIZE,
    _STACK_GLOBAL,
    _DUP,
    _POP,
    _STOP,
    _NOTHING,
) = (object() for _ in range(14))
_KIND_BY_NAME = {
    **{
        op.name: _VALUE
        for op in pickletools.opcodes
        if not op.stack_before and len(op.stack_after) == 1
    },
    **dict.fromkeys(("PUT", "BINPUT", "LONG_BINPUT"), _MEMO_PUT),
    **dict.fromkeys(("GET", "BINGET", "LONG_BINGET"), _MEMO_GET),
    **dict.fromkeys(
        ("APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"), _IN_PLACE
    ),
    **dict.fromkeys(("EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET", "EMPTY_TUPLE"), _EMPTY),
    **dict.fromkeys(("PROTO", "FRAME"), _NOTHING),
    "MARK": _MARK,
    "BINPERSID": _PERSISTENT,
    "MEMOIZE": _MEMOIZE,
    "STACK_GLOBAL": _STACK_GLOBAL,
    "DUP": _DUP,
    "POP": _POP,
    "STOP": _STOP,
}
_KINDS = {op: _KIND_BY_NAME.get(op.name, _GENERIC) for op in pickletools.opcodes}


def _pop(
    opcode: Any, stack: list[Any], metastack: list[list[Any]]
) -> tuple[list[Any], list[Any]]:
    """The arguments of `opcode`, taken off the stack, and the stack after.

    As in the unpickler, a MARK starts a new stack, so taking the items above
    a mark costs nothing however deep the stack below it is.
    """
    before = opcode.stack_before
    popped: list[Any] = []
    count = len(before)
    if pickletools.markobject in before:
        popped, stack = stack, metastack.pop()
        count = before.index(pickletools.markobject)
    if len(stack) < count:
        raise IndexError(f"{opcode.name} finds too few items on the stack")
    if count:
        popped = stack[len(stack) - count :] + popped
        del stack[len(stack) - count :]
    return popped, stack


def _measure(root: Any, limits: PickleLimits) -> None:
    """Refuse `root` if it nests too deep or reaches too many elements.

    A depth-first walk that measures each container once: its elements count
    every reference (so shared sublists multiply, as they would for a naive
    walk), while a reference back to a container still open (a cycle) counts
    once.
    """
    if not isinstance(root, _Node) or root.state == _DONE:
        return
    root.state = _OPEN
    # per open container: [node, next child, elements so far, depth so far]
    path: list[list[Any]] = [[root, 0, 1, 0]]
    while path:
        entry = path[-1]
        node, index = entry[0], entry[1]
        if index < len(node.children):
            entry[1] = index + 1
            child = node.children[index]
            if not isinstance(child, _Node):
                entry[2] += 1
                entry[3] = entry[3] or 1
            elif child.state == _DONE:
                entry[2] += child.elements
                entry[3] = max(entry[3], child.depth + 1)
            elif child.state == _NEW:
                if len(path) >= limits.max_depth:
                    raise _too_deep(limits)
                child.state = _OPEN
                path.append([child, 0, 1, 0])
            continue
        path.pop()
        node.elements, node.depth, node.state = entry[2], entry[3], _DONE
        if node.elements > limits.max_elements:
            raise Refusal(
                f"its pickle describes more than {limits.max_elements:,} elements "
                "once its shared references are followed (a 'billion laughs' "
                "structure)",
                _TRIM,
            )
        if node.depth > limits.max_depth:
            raise _too_deep(limits)
        if path:
            parent = path[-1]
            parent[2] += node.elements
            parent[3] = max(parent[3], node.depth + 1)


def _too_deep(limits: PickleLimits) -> Refusal:
    return Refusal(
        f"its pickle nests containers more than {limits.max_depth} deep", _TRIM
    )
