"""The Merkle tree of RFC 6962 / RFC 9162 §2.1: tree hashes, inclusion and consistency proofs.

Leaf hash ``SHA-256(0x00 || entry)``, node hash ``SHA-256(0x01 || left || right)``; a tree of
``n > 1`` leaves splits at ``k``, the largest power of two below ``n``; the empty tree's hash is
``SHA-256()``. Proof generation follows §2.1.3.1 and §2.1.4.1 (PATH, SUBPROOF), verification the
algorithms of §2.1.3.2 and §2.1.4.2 step by step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """A tree over given leaf hashes; subtree hashes are memoised, so proving every leaf of one
    tree costs O(n log n) hashes, not O(n²)."""

    def __init__(self, leaf_hashes: Sequence[bytes]):
        self.leaves = list(leaf_hashes)
        self._memo: dict[tuple[int, int], bytes] = {}

    @property
    def size(self) -> int:
        return len(self.leaves)

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all)."""
        n = self.size if size is None else size
        return self._hash(0, n) if n else EMPTY_ROOT

    def _hash(self, lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return self.leaves[lo]
        key = (lo, hi)
        if key not in self._memo:
            k = split_point(hi - lo)
            self._memo[key] = node_hash(self._hash(lo, lo + k), self._hash(lo + k, hi))
        return self._memo[key]

    def inclusion_path(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
        n = self.size if size is None else size
        if not 0 <= index < n <= self.size:
            raise ValueError(f"leaf {index} is not in a tree of size {n}")
        return self._path(index, 0, n)

    def _path(self, m: int, lo: int, hi: int) -> list[bytes]:
        if hi - lo == 1:
            return []
        k = split_point(hi - lo)
        if m < k:
            return self._path(m, lo, lo + k) + [self._hash(lo + k, hi)]
        return self._path(m - k, lo + k, hi) + [self._hash(lo, lo + k)]

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """PROOF(m, D[n]) of RFC 9162 §2.1.4.1 (empty when ``first`` is 0 or equals ``second``)."""
        n = self.size if second is None else second
        if not 0 <= first <= n <= self.size:
            raise ValueError(f"no consistency proof from size {first} to size {n}")
        if first == 0 or first == n:
            return []
        return self._subproof(first, 0, n, True)

    def _subproof(self, m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if complete else [self._hash(lo, hi)]
        k = split_point(n)
        if m <= k:
            return self._subproof(m, lo, lo + k, complete) + [self._hash(lo + k, hi)]
        return self._subproof(m - k, lo + k, hi, False) + [self._hash(lo, lo + k)]


def _lsb(x: int) -> bool:
    return bool(x & 1)


def _shift_to_set_lsb(fn: int, sn: int) -> tuple[int, int]:
    """Right-shift both until LSB(fn) is set or fn is 0 (the RFC's step for a right-edge node)."""
    while not _lsb(fn) and fn != 0:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``path`` prove leaf hash ``leaf`` at ``index`` in the tree ``root``?"""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if _lsb(fn) or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_to_set_lsb(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree ``second_root`` (size ``second``) an append-only extension of
    ``first_root`` (size ``first``)?"""
    if first > second or first < 0:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the first tree is a subtree on the path
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while _lsb(fn):
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if _lsb(fn) or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _shift_to_set_lsb(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


class CompactRange:
    """The right edge of an append-only tree (its perfect subtrees, largest first): appending and
    taking the root cost O(log n), so a log can sign a checkpoint after every append."""

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[tuple[int, bytes]] = []  # (leaves, hash), sizes strictly decreasing

    def append(self, leaf: bytes) -> None:
        self.size += 1
        width, h = 1, leaf
        while self._peaks and self._peaks[-1][0] == width:
            left_width, left = self._peaks.pop()
            width, h = left_width + width, node_hash(left, h)
        self._peaks.append((width, h))

    def peaks(self) -> list[tuple[int, str]]:
        """The right edge as (leaves, hex hash) pairs: what :meth:`restore` takes back."""
        return [(w, h.hex()) for w, h in self._peaks]

    @classmethod
    def restore(cls, peaks: list[tuple[int, str]]) -> CompactRange:
        edge = cls()
        edge._peaks = [(int(w), bytes.fromhex(h)) for w, h in peaks]
        edge.size = sum(w for w, _ in edge._peaks)
        return edge

    def root(self) -> bytes:
        if not self._peaks:
            return EMPTY_ROOT
        h = self._peaks[-1][1]
        for _, left in reversed(self._peaks[:-1]):
            h = node_hash(left, h)
        return h
