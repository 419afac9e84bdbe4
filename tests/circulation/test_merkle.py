"""The Merkle tree against an independent, literal reading of RFC 6962 §2.1 and its known vectors."""

from __future__ import annotations

import hashlib

import pytest

from citydata.circulation.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MerkleTree,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)


def _sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def _mth(d: list[bytes]) -> bytes:
    """MTH exactly as the RFC writes it, with nothing shared with the module under test."""
    n = len(d)
    if n == 0:
        return _sha(b"")
    if n == 1:
        return _sha(b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _sha(b"\x01" + _mth(d[:k]) + _mth(d[k:]))


DATA = [f"entry-{i}".encode() for i in range(40)]


def _tree(n: int) -> MerkleTree:
    return MerkleTree([leaf_hash(x) for x in DATA[:n]])


def test_empty_tree_hash_is_the_rfc_value() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert MerkleTree([]).root() == EMPTY_ROOT


def test_rfc6962_reference_vector() -> None:
    """The eight-leaf tree of the certificate-transparency reference tests (RFC 6962 test data)."""
    leaves = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                         "606162636465666768696a6b6c6d6e6f")]
    tree = MerkleTree([leaf_hash(x) for x in leaves])
    assert tree.root(1).hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert tree.root().hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


@pytest.mark.parametrize("n", range(0, 40))
def test_roots_match_the_literal_definition_and_the_compact_range(n: int) -> None:
    compact = CompactRange()
    for x in DATA[:n]:
        compact.append(leaf_hash(x))
    assert _tree(n).root() == _mth(DATA[:n]) == compact.root()


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 9, 16, 17, 33])
def test_every_inclusion_proof_verifies_and_wrong_ones_fail(n: int) -> None:
    tree = _tree(n)
    root = tree.root()
    for i in range(n):
        path = tree.inclusion_path(i)
        assert verify_inclusion(tree.leaves[i], i, n, path, root)
        assert not verify_inclusion(leaf_hash(b"forged"), i, n, path, root)
        if n > 1:
            assert not verify_inclusion(tree.leaves[i], (i + 1) % n, n, path, root)
            assert not verify_inclusion(tree.leaves[i], i, n, path[:-1], root)


@pytest.mark.parametrize("second", [1, 2, 3, 4, 6, 7, 8, 9, 13, 16, 31, 40])
def test_every_consistency_proof_verifies_and_a_changed_history_fails(second: int) -> None:
    tree = _tree(second)
    for first in range(0, second + 1):
        proof = tree.consistency_proof(first, second)
        assert verify_consistency(first, second, _mth(DATA[:first]), tree.root(), proof), (first, second)
        if 0 < first < second:
            altered = _mth([b"rewritten"] + DATA[1:first])
            assert not verify_consistency(first, second, altered, tree.root(), proof)
            assert not verify_consistency(first, second, _mth(DATA[:first]), _mth(DATA[:second - 1] + [b"x"]), proof)
            if proof:
                assert not verify_consistency(first, second, _mth(DATA[:first]), tree.root(), proof[:-1])


def test_known_consistency_proof_shape() -> None:
    """RFC 9162 §2.1.5's example: the proof from 3 to 7 leaves is [c, d, g, l], where c and d are
    leaves 2 and 3, g = node(a, b) and l = node(node(e, f), j)."""
    tree = _tree(7)
    a, b, c, d, e, f, j = tree.leaves
    g, l_ = node_hash(a, b), node_hash(node_hash(e, f), j)
    assert tree.consistency_proof(3, 7) == [c, d, g, l_]
    assert tree.inclusion_path(3, 7) == [c, g, l_]  # PATH(3, D[7]) of the same example
