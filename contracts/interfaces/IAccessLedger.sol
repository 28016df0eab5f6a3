// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IAccessLedger
/// @notice One Merkle root per batch of access events. Batches are numbered 1, 2, 3 … and cover
///         contiguous, gapless ranges of event sequence numbers starting at 1, so a missing or duplicated
///         event cannot be anchored.
/// @dev Leaves follow OpenZeppelin's StandardMerkleTree format: keccak256(bytes.concat(keccak256(abi.encode(fields)))).
interface IAccessLedger {
    /// @notice An anchored batch.
    struct Batch {
        bytes32 root;
        uint64 firstSeq;
        uint64 lastSeq;
        uint64 anchoredAt;
        uint64 blockNumber;
    }

    /// @notice Emitted when a batch root is stored.
    event BatchAnchored(uint256 indexed batchId, bytes32 root, uint64 firstSeq, uint64 lastSeq);

    /// @notice The batch id is not the next one.
    error BatchOutOfOrder(uint256 expectedBatchId, uint256 batchId);
    /// @notice The range does not start right after the last anchored sequence number.
    error RangeNotContiguous(uint64 expectedFirstSeq, uint64 firstSeq);
    /// @notice The range is empty or reversed.
    error InvalidRange(uint64 firstSeq, uint64 lastSeq);
    /// @notice The root is zero.
    error InvalidRoot();
    /// @notice No batch with this id was anchored.
    error BatchNotFound(uint256 batchId);

    /// @notice Anchors `root` for events `firstSeq..lastSeq` as batch `batchId`. Anchorer role only.
    function anchor(uint256 batchId, bytes32 root, uint64 firstSeq, uint64 lastSeq) external;

    /// @notice The anchored batch `batchId`; reverts with BatchNotFound if unknown.
    function getBatch(uint256 batchId) external view returns (Batch memory);

    /// @notice Whether `leaf` with `proof` belongs to batch `batchId`.
    function verifyLeaf(uint256 batchId, bytes32 leaf, bytes32[] calldata proof) external view returns (bool);

    /// @notice The number of batches anchored so far; the next batch id is `batchCount() + 1`.
    function batchCount() external view returns (uint256);

    /// @notice The sequence number the next batch must start at.
    function nextSeq() external view returns (uint64);

    /// @notice The contract's semantic version.
    function version() external pure returns (string memory);
}
