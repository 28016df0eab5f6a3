// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IConsentRegistry
/// @notice Patients' consent terms and their status, and the history of institution membership. No health data
///         is stored: only addresses, category and purpose bitmasks, and times.
/// @dev A consent is immutable once granted; narrowing it means revoking it and granting new terms.
///      Revocation stamps `revokedAt` and never deletes. Institution membership (INSTITUTION_ROLE) is recorded
///      with the times it starts and ends, so a decision about a past instant never changes afterwards.
interface IConsentRegistry {
    /// @notice Whether a consent allows or forbids access.
    enum Effect {
        Permit,
        Deny
    }

    /// @notice The answer to "may `requester` see these categories of `patient` for this purpose at time t?".
    enum Decision {
        NoConsent,
        Permit,
        Deny
    }

    /// @notice Terms a patient signs.
    /// @param patient The data subject, who signs the terms.
    /// @param grantee The institution the terms apply to, or address(0) for every requester (see {decide}).
    /// @param categories Bitmask of data categories (bit 0 demographics … bit 11 care plans).
    /// @param purposes Bitmask of PurposeOfUse codes (bit 0 TREAT … bit 6 PATRQT).
    /// @param effect Permit or Deny.
    /// @param validFrom First second (unix time) the terms apply; at most 2^40 − 1.
    /// @param validUntil First second the terms no longer apply; 0 for open-ended; at most 2^40 − 1.
    struct ConsentTerms {
        address patient;
        address grantee;
        uint256 categories;
        uint256 purposes;
        Effect effect;
        uint64 validFrom;
        uint64 validUntil;
    }

    /// @notice A stored consent with its status.
    struct Consent {
        ConsentTerms terms;
        uint64 grantedAt;
        uint64 revokedAt;
    }

    /// @notice One change of an account's institution membership: from `at` on it is (`member`) or is not one.
    struct MembershipChange {
        uint64 at;
        bool member;
    }

    /// @notice Emitted when a consent is stored; `nonce` is the patient's nonce this grant consumed.
    event ConsentGranted(
        bytes32 indexed consentId,
        address indexed patient,
        address indexed grantee,
        uint256 categories,
        uint256 purposes,
        Effect effect,
        uint64 validFrom,
        uint64 validUntil,
        uint256 nonce
    );

    /// @notice Emitted when a consent is revoked. Revocations consume no nonce.
    event ConsentRevoked(bytes32 indexed consentId, address indexed patient, uint64 revokedAt);

    /// @notice Emitted when a patient moves their nonce forward to cancel grant signatures not yet submitted.
    event NonceIncreased(address indexed account, uint256 oldNonce, uint256 newNonce);

    /// @notice No consent with this id exists.
    error ConsentNotFound(bytes32 consentId);
    /// @notice A consent with this id already exists.
    error ConsentAlreadyExists(bytes32 consentId);
    /// @notice The consent is already revoked.
    error ConsentAlreadyRevoked(bytes32 consentId, uint64 revokedAt);
    /// @notice `account` is not the patient of the consent.
    error NotConsentPatient(bytes32 consentId, address account);
    /// @notice The caller may only act for itself.
    error NotPatient(address patient, address account);
    /// @notice The category bitmask is zero or has bits outside the known categories.
    error InvalidCategories(uint256 categories);
    /// @notice The purpose bitmask is zero or has bits outside the known purposes.
    error InvalidPurposes(uint256 purposes);
    /// @notice The validity window is empty, already over, or beyond 2^40 − 1.
    error InvalidValidity(uint64 validFrom, uint64 validUntil);
    /// @notice The patient is the zero address.
    error InvalidPatient(address patient);
    /// @notice The grantee is neither address(0) nor a registered institution.
    error GranteeNotInstitution(address grantee);
    /// @notice The zero address stands for "every requester" in consents and can never be an institution.
    error InvalidInstitution(address account);

    /// @notice Stores `terms` signed by `terms.patient` (EIP-712 `Grant`), submitted by a relayer.
    /// @param terms The consent terms.
    /// @param nonce The patient's current nonce, consumed by this call.
    /// @param deadline Last second the signature may be submitted.
    /// @param signature The patient's signature (ECDSA or ERC-1271).
    /// @return consentId The id of the stored consent.
    function grantBySig(ConsentTerms calldata terms, uint256 nonce, uint256 deadline, bytes calldata signature)
        external
        returns (bytes32 consentId);

    /// @notice Stores `terms` for the caller, who must be `terms.patient`. Consumes the caller's nonce.
    /// @return consentId The id of the stored consent.
    function grant(ConsentTerms calldata terms) external returns (bytes32 consentId);

    /// @notice Revokes `consentId` with the patient's EIP-712 `Revoke(bytes32 consentId,uint256 deadline)`
    ///         signature. Anyone may submit it: a revocation only narrows access, so no key can hold it back.
    ///         Consumes no nonce; submitting it again reverts with ConsentAlreadyRevoked.
    function revokeBySig(bytes32 consentId, uint256 deadline, bytes calldata signature) external;

    /// @notice Revokes `consentId`; the caller must be its patient.
    function revoke(bytes32 consentId) external;

    /// @notice Moves the caller's nonce to `newNonce`, cancelling every grant signature with a lower nonce.
    function increaseNonce(uint256 newNonce) external;

    /// @notice Moves `account`'s nonce to `newNonce` with its EIP-712
    ///         `IncreaseNonce(address account,uint256 newNonce,uint256 deadline)` signature, so a patient who sends
    ///         no transactions can still cancel grant signatures. Anyone may submit it; it works once, as the nonce
    ///         then equals `newNonce`.
    function increaseNonceBySig(address account, uint256 newNonce, uint256 deadline, bytes calldata signature)
        external;

    /// @notice The decision for `requester` reading `categories` of `patient` for `purposes` at `at`.
    /// @dev A consent is active at `at` when granted at or before it, not revoked at or before it, and
    ///      `validFrom <= at < validUntil` (or `validUntil == 0`). Among the active consents:
    ///      1. a Deny that overlaps both the categories and the purposes, granted to `requester` or to address(0),
    ///         decides Deny, whatever roles the requester holds or held;
    ///      2. otherwise, if `requester` was an institution at `at` (see {isInstitutionAt}), a Permit granted to
    ///         `requester` or to address(0) that covers all the categories and all the purposes decides Permit;
    ///      3. otherwise NoConsent.
    ///      Among several matches the earliest granted decides. The answer for a past instant never changes: it
    ///      reads only consents and membership as they were at `at`. The cost grows with the patient's consents
    ///      granted to `requester` and to address(0), not with the others. Reverts with InvalidCategories or
    ///      InvalidPurposes when a mask is zero or has unknown bits.
    /// @return decision The decision.
    /// @return consentId The deciding consent, or zero for NoConsent.
    function decide(address patient, address requester, uint256 categories, uint256 purposes, uint64 at)
        external
        view
        returns (Decision decision, bytes32 consentId);

    /// @notice Whether `account` held INSTITUTION_ROLE at `at` (granted at or before `at`, not revoked at or
    ///         before it).
    function isInstitutionAt(address account, uint64 at) external view returns (bool);

    /// @notice Every change of `account`'s institution membership, oldest first. Several changes in one second
    ///         collapse into the last.
    function institutionHistory(address account) external view returns (MembershipChange[] memory);

    /// @notice The consent `consentId`; reverts with ConsentNotFound if unknown.
    function getConsent(bytes32 consentId) external view returns (Consent memory);

    /// @notice The ids of every consent `patient` has granted, in grant order.
    function consentsOf(address patient) external view returns (bytes32[] memory);

    /// @notice The ids of the consents `patient` has granted to `grantee` (address(0): to every requester), in
    ///         grant order: what {decide} reads for a requester, together with the address(0) list.
    function consentsTo(address patient, address grantee) external view returns (bytes32[] memory);

    /// @notice The id the terms would get with `nonce`.
    function consentIdOf(ConsentTerms calldata terms, uint256 nonce) external pure returns (bytes32);

    /// @notice The next nonce `account` must sign a Grant with.
    function nonces(address account) external view returns (uint256);

    /// @notice The contract's semantic version.
    function version() external pure returns (string memory);
}
