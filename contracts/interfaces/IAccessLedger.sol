// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IAccessLedger
/// @notice One Merkle root per batch of access events. Batches are numbered 1, 2, 3 … and cover contiguous,
///         gapless ranges of event sequence numbers starting at 1, at most MAX_BATCH_EVENTS each, so a missing
///         or duplicated event cannot be anchored and no single anchor can exhaust the sequence space.
/// @dev Leaves follow OpenZeppelin's StandardMerkleTree format: keccak256(bytes.concat(keccak256(abi.encode(fields)))).
///      Storage: each anchor writes one fresh slot, the root, at a location derived from (batchId, firstSeq,
///      lastSeq), so the root is bound to its range: it is read with the range, and a wrong range finds nothing.
///      The range and block of a batch are in its BatchAnchored log. Nothing is ever deleted or overwritten: a
///      wrong batch is marked void by the admin (BatchVoided) and may be replaced by a new batch id
///      (BatchSuperseded).
interface IAccessLedger {
    /// @notice What became of a batch. Anchored batches are the valid ones; Void and Superseded ones are kept
    ///         with their roots but prove nothing.
    enum BatchStatus {
        Anchored,
        Void,
        Superseded
    }

    /// @notice An anchored batch, as read with its range.
    /// @param root The Merkle root anchored for the range.
    /// @param status Anchored, Void or Superseded.
    /// @param supersededBy The batch that replaced this one, or 0.
    struct Batch {
        bytes32 root;
        BatchStatus status;
        uint256 supersededBy;
    }

    /// @notice The ledger's counters, in one storage slot.
    /// @param batchCount Batches anchored so far (including void ones); the next batch id is batchCount + 1.
    /// @param nextSeq The sequence number the next batch must start at.
    /// @param lastAnchorBlock The block of the latest anchor or supersede, 0 before the first.
    struct Head {
        uint64 batchCount;
        uint64 nextSeq;
        uint64 lastAnchorBlock;
    }

    /// @notice An access event of trail format 2 (docs/access-trail.md), the fields of its leaf in order.
    struct AccessEvent {
        uint64 seq;
        bytes16 id;
        uint64 time;
        address actor;
        address requester;
        address patient;
        uint8 action;
        uint256 categories;
        uint256 purposes;
        uint8 decision;
        bytes32 consentId;
        bytes32 requestHash;
        bytes32 prevHash;
    }

    /// @notice Emitted when a batch root is stored (by anchor, or by supersede for a replacement).
    event BatchAnchored(uint256 indexed batchId, bytes32 root, uint64 firstSeq, uint64 lastSeq);

    /// @notice Emitted when the admin marks a batch void. `reopened` when the batch ended at the head of the
    ///         ledger: its range is open again and the next anchor starts at `firstSeq`.
    event BatchVoided(uint256 indexed batchId, uint64 firstSeq, uint64 lastSeq, bool reopened, bytes32 reason);

    /// @notice Emitted when a void batch's range is anchored again as batch `replacementId`.
    event BatchSuperseded(uint256 indexed batchId, uint256 indexed replacementId);

    /// @notice The batch id is not the next one.
    error BatchOutOfOrder(uint256 expectedBatchId, uint256 batchId);
    /// @notice The range does not start right after the last anchored sequence number.
    error RangeNotContiguous(uint64 expectedFirstSeq, uint64 firstSeq);
    /// @notice The range is reversed, or ends at 2^64 − 1 (reserved, so the next sequence number still fits).
    error InvalidRange(uint64 firstSeq, uint64 lastSeq);
    /// @notice The range holds more than `maxEvents` events.
    error BatchTooLarge(uint64 firstSeq, uint64 lastSeq, uint64 maxEvents);
    /// @notice The root is zero.
    error InvalidRoot();
    /// @notice No batch with this id was anchored.
    error BatchNotFound(uint256 batchId);
    /// @notice Batch `batchId` exists but was not anchored for this range.
    error BatchRangeMismatch(uint256 batchId, uint64 firstSeq, uint64 lastSeq);
    /// @notice The batch is void or superseded and proves nothing.
    error BatchIsVoid(uint256 batchId, BatchStatus status);
    /// @notice Only an anchored batch can be voided.
    error BatchAlreadyVoid(uint256 batchId, BatchStatus status);
    /// @notice Only a void batch whose range was not reopened, and not yet superseded, can be replaced.
    error BatchNotReplaceable(uint256 batchId);

    /// @notice Anchors `root` for events `firstSeq..lastSeq` as batch `batchId`. Anchorer role only.
    /// @dev Checks, in order: the batch id is batchCount() + 1, `firstSeq` is nextSeq(), the range is not
    ///      reversed and ends below 2^64 − 1, it holds at most MAX_BATCH_EVENTS events, the root is not zero.
    function anchor(uint256 batchId, bytes32 root, uint64 firstSeq, uint64 lastSeq) external;

    /// @notice Marks batch `batchId` (anchored for `firstSeq..lastSeq`) void, for the stated `reason`. Admin only.
    ///         The root stays on chain. If the batch ends at the head of the ledger (lastSeq + 1 == nextSeq()), its
    ///         range reopens and the next anchor starts at `firstSeq`; otherwise the range can be anchored again
    ///         only by {supersede}.
    function voidBatch(uint256 batchId, uint64 firstSeq, uint64 lastSeq, bytes32 reason) external;

    /// @notice Anchors `root` as batch `batchId` (the next id) for exactly the range of the void batch
    ///         `voidedBatchId`, which becomes Superseded. Anchorer role only.
    function supersede(uint256 voidedBatchId, uint256 batchId, bytes32 root) external;

    /// @notice Batch `batchId` as anchored for `firstSeq..lastSeq`. Reverts with BatchNotFound for an unknown id
    ///         and BatchRangeMismatch when the batch was anchored for another range.
    function getBatch(uint256 batchId, uint64 firstSeq, uint64 lastSeq) external view returns (Batch memory);

    /// @notice The status of batch `batchId` and the batch that superseded it (or 0). Reverts with BatchNotFound
    ///         for an unknown id.
    function batchStatus(uint256 batchId) external view returns (BatchStatus status, uint256 supersededBy);

    /// @notice Whether `accessEvent` with `proof` belongs to batch `batchId`, anchored for `firstSeq..lastSeq`:
    ///         its seq lies in the range and its leaf, computed here, is under the root. Reverts with
    ///         BatchNotFound, BatchRangeMismatch, or BatchIsVoid when the batch is void or superseded.
    function verifyEvent(
        uint256 batchId,
        uint64 firstSeq,
        uint64 lastSeq,
        AccessEvent calldata accessEvent,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice The StandardMerkleTree leaf of `accessEvent` (trail format 2).
    function leafOf(AccessEvent calldata accessEvent) external pure returns (bytes32);

    /// @notice The ledger's counters.
    function head() external view returns (Head memory);

    /// @notice The number of batches anchored so far; the next batch id is `batchCount() + 1`.
    function batchCount() external view returns (uint256);

    /// @notice The sequence number the next batch must start at.
    function nextSeq() external view returns (uint64);

    /// @notice The most events one batch may hold.
    function MAX_BATCH_EVENTS() external view returns (uint64);

    /// @notice The contract's semantic version.
    function version() external pure returns (string memory);
}
