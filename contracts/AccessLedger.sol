// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IAccessLedger} from "./interfaces/IAccessLedger.sol";
import {ANCHORER_ROLE} from "./Common.sol";

/// @title AccessLedger
/// @notice Merkle roots of batches of access events. See {IAccessLedger}.
contract AccessLedger is IAccessLedger, AccessControl {
    mapping(uint256 batchId => Batch) private _batches;
    // Packed in one slot: every anchor updates both.
    uint64 private _batchCount;
    uint64 private _nextSeq = 1;

    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IAccessLedger
    function anchor(uint256 batchId, bytes32 root, uint64 firstSeq, uint64 lastSeq)
        external
        onlyRole(ANCHORER_ROLE)
    {
        uint256 expectedBatchId = _batchCount + 1;
        if (batchId != expectedBatchId) revert BatchOutOfOrder(expectedBatchId, batchId);
        if (firstSeq != _nextSeq) revert RangeNotContiguous(_nextSeq, firstSeq);
        if (lastSeq < firstSeq) revert InvalidRange(firstSeq, lastSeq);
        if (root == bytes32(0)) revert InvalidRoot();
        _batches[batchId] = Batch({
            root: root,
            firstSeq: firstSeq,
            lastSeq: lastSeq,
            anchoredAt: uint64(block.timestamp),
            blockNumber: uint64(block.number)
        });
        _batchCount = uint64(batchId);
        _nextSeq = lastSeq + 1;
        emit BatchAnchored(batchId, root, firstSeq, lastSeq);
    }

    /// @inheritdoc IAccessLedger
    function getBatch(uint256 batchId) external view returns (Batch memory) {
        Batch memory batch = _batches[batchId];
        if (batch.root == bytes32(0)) revert BatchNotFound(batchId);
        return batch;
    }

    /// @inheritdoc IAccessLedger
    function verifyLeaf(uint256 batchId, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        bytes32 root = _batches[batchId].root;
        if (root == bytes32(0)) revert BatchNotFound(batchId);
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc IAccessLedger
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    /// @inheritdoc IAccessLedger
    function nextSeq() external view returns (uint64) {
        return _nextSeq;
    }

    /// @inheritdoc IAccessLedger
    function version() external pure returns (string memory) {
        return "1.0.0";
    }
}
