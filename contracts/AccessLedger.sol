// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IAccessLedger} from "./interfaces/IAccessLedger.sol";
import {SeparatedAdminRules} from "./governance/SeparatedAdminRules.sol";
import {ANCHORER_ROLE} from "./Common.sol";

/// @title AccessLedger
/// @notice Merkle roots of batches of access events. See {IAccessLedger}.
/// @dev Roles: DEFAULT_ADMIN_ROLE (one account, two-step delayed transfer) administers ANCHORER_ROLE and voids
///      batches; no account may hold both.
contract AccessLedger is IAccessLedger, SeparatedAdminRules {
    /// @inheritdoc IAccessLedger
    uint64 public constant MAX_BATCH_EVENTS = 100_000;

    /// @dev One slot, written by every anchor; nonzero from construction so no anchor pays for a fresh slot here.
    Head internal _head;
    /// @dev The only fresh slot an anchor writes. Keyed by the range too, so the root is bound to it.
    mapping(uint256 batchId => mapping(uint128 range => bytes32 root)) private _roots;
    /// @dev Written only when a batch is voided or superseded: zero (Anchored) for every other batch.
    mapping(uint256 batchId => VoidRecord) private _voids;

    struct VoidRecord {
        BatchStatus status;
        bool reopened;
        uint64 firstSeq;
        uint64 lastSeq;
        uint64 supersededBy;
    }

    /// @param initialDelay Seconds a scheduled admin transfer waits before it can be accepted.
    /// @param initialAdmin The account holding DEFAULT_ADMIN_ROLE.
    constructor(uint48 initialDelay, address initialAdmin) SeparatedAdminRules(initialDelay, initialAdmin) {
        _head = Head({batchCount: 0, nextSeq: 1, lastAnchorBlock: 0});
    }

    /// @inheritdoc IAccessLedger
    function anchor(uint256 batchId, bytes32 root, uint64 firstSeq, uint64 lastSeq)
        external
        onlyRole(ANCHORER_ROLE)
    {
        Head memory h = _head;
        uint256 expectedBatchId = uint256(h.batchCount) + 1;
        if (batchId != expectedBatchId) revert BatchOutOfOrder(expectedBatchId, batchId);
        if (firstSeq != h.nextSeq) revert RangeNotContiguous(h.nextSeq, firstSeq);
        if (lastSeq < firstSeq || lastSeq == type(uint64).max) revert InvalidRange(firstSeq, lastSeq);
        if (lastSeq - firstSeq >= MAX_BATCH_EVENTS) revert BatchTooLarge(firstSeq, lastSeq, MAX_BATCH_EVENTS);
        if (root == bytes32(0)) revert InvalidRoot();
        _roots[batchId][_range(firstSeq, lastSeq)] = root;
        _head = Head({batchCount: uint64(batchId), nextSeq: lastSeq + 1, lastAnchorBlock: uint64(block.number)});
        emit BatchAnchored(batchId, root, firstSeq, lastSeq);
    }

    /// @inheritdoc IAccessLedger
    function voidBatch(uint256 batchId, uint64 firstSeq, uint64 lastSeq, bytes32 reason)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _rootOf(batchId, firstSeq, lastSeq);
        VoidRecord storage record = _voids[batchId];
        if (record.status != BatchStatus.Anchored) revert BatchAlreadyVoid(batchId, record.status);
        // Anchored ranges end below 2^64 − 1, so lastSeq + 1 cannot overflow.
        bool reopened = lastSeq + 1 == _head.nextSeq;
        _voids[batchId] = VoidRecord({
            status: BatchStatus.Void,
            reopened: reopened,
            firstSeq: firstSeq,
            lastSeq: lastSeq,
            supersededBy: 0
        });
        if (reopened) _head.nextSeq = firstSeq;
        emit BatchVoided(batchId, firstSeq, lastSeq, reopened, reason);
    }

    /// @inheritdoc IAccessLedger
    function supersede(uint256 voidedBatchId, uint256 batchId, bytes32 root) external onlyRole(ANCHORER_ROLE) {
        Head memory h = _head;
        uint256 expectedBatchId = uint256(h.batchCount) + 1;
        if (batchId != expectedBatchId) revert BatchOutOfOrder(expectedBatchId, batchId);
        VoidRecord storage record = _voids[voidedBatchId];
        if (record.status != BatchStatus.Void || record.reopened) revert BatchNotReplaceable(voidedBatchId);
        if (root == bytes32(0)) revert InvalidRoot();
        (uint64 firstSeq, uint64 lastSeq) = (record.firstSeq, record.lastSeq);
        _roots[batchId][_range(firstSeq, lastSeq)] = root;
        record.status = BatchStatus.Superseded;
        record.supersededBy = uint64(batchId);
        _head = Head({batchCount: uint64(batchId), nextSeq: h.nextSeq, lastAnchorBlock: uint64(block.number)});
        emit BatchAnchored(batchId, root, firstSeq, lastSeq);
        emit BatchSuperseded(voidedBatchId, batchId);
    }

    /// @inheritdoc IAccessLedger
    function getBatch(uint256 batchId, uint64 firstSeq, uint64 lastSeq) external view returns (Batch memory) {
        bytes32 root = _rootOf(batchId, firstSeq, lastSeq);
        VoidRecord storage record = _voids[batchId];
        return Batch({root: root, status: record.status, supersededBy: record.supersededBy});
    }

    /// @inheritdoc IAccessLedger
    function batchStatus(uint256 batchId) external view returns (BatchStatus, uint256) {
        _checkExists(batchId);
        VoidRecord storage record = _voids[batchId];
        return (record.status, record.supersededBy);
    }

    /// @inheritdoc IAccessLedger
    function verifyEvent(
        uint256 batchId,
        uint64 firstSeq,
        uint64 lastSeq,
        AccessEvent calldata accessEvent,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _rootOf(batchId, firstSeq, lastSeq);
        BatchStatus status = _voids[batchId].status;
        if (status != BatchStatus.Anchored) revert BatchIsVoid(batchId, status);
        if (accessEvent.seq < firstSeq || accessEvent.seq > lastSeq) return false;
        return MerkleProof.verifyCalldata(proof, root, leafOf(accessEvent));
    }

    /// @inheritdoc IAccessLedger
    function leafOf(AccessEvent calldata accessEvent) public pure returns (bytes32) {
        // Every field is static, so the struct's ABI encoding is the encoding of its fields in order.
        return keccak256(bytes.concat(keccak256(abi.encode(accessEvent))));
    }

    /// @inheritdoc IAccessLedger
    function head() external view returns (Head memory) {
        return _head;
    }

    /// @inheritdoc IAccessLedger
    function batchCount() external view returns (uint256) {
        return _head.batchCount;
    }

    /// @inheritdoc IAccessLedger
    function nextSeq() external view returns (uint64) {
        return _head.nextSeq;
    }

    /// @inheritdoc IAccessLedger
    function version() external pure returns (string memory) {
        return "2.0.0";
    }

    function _separatedRoles() internal pure override returns (bytes32[2][] memory pairs) {
        pairs = new bytes32[2][](1);
        pairs[0] = [DEFAULT_ADMIN_ROLE, ANCHORER_ROLE];
    }

    function _rootOf(uint256 batchId, uint64 firstSeq, uint64 lastSeq) private view returns (bytes32 root) {
        _checkExists(batchId);
        root = _roots[batchId][_range(firstSeq, lastSeq)];
        if (root == bytes32(0)) revert BatchRangeMismatch(batchId, firstSeq, lastSeq);
    }

    function _checkExists(uint256 batchId) private view {
        if (batchId == 0 || batchId > _head.batchCount) revert BatchNotFound(batchId);
    }

    function _range(uint64 firstSeq, uint64 lastSeq) private pure returns (uint128) {
        return (uint128(firstSeq) << 64) | lastSeq;
    }
}
