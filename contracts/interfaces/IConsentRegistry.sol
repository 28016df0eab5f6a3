// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IConsentRegistry
/// @notice Patients' consent terms and their status. No health data is stored: only addresses,
///         category and purpose bitmasks, and times.
/// @dev A consent is immutable once granted; narrowing it means revoking it and granting new terms.
///      Revocation stamps `revokedAt` and never deletes.
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
    /// @param grantee The institution the terms apply to, or address(0) for any registered institution.
    /// @param categories Bitmask of data categories (bit 0 demographics … bit 11 care plans).
    /// @param purposes Bitmask of PurposeOfUse codes (bit 0 TREAT … bit 6 PATRQT).
    /// @param effect Permit or Deny.
    /// @param validFrom First second (unix time) the terms apply.
    /// @param validUntil First second the terms no longer apply; 0 for open-ended.
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

    /// @notice Emitted when a consent is stored.
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

    /// @notice Emitted when a consent is revoked.
    event ConsentRevoked(bytes32 indexed consentId, address indexed patient, uint64 revokedAt);

    /// @notice Emitted when a patient moves their nonce forward to cancel signatures not yet submitted.
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
    /// @notice The validity window is empty or already over.
    error InvalidValidity(uint64 validFrom, uint64 validUntil);
    /// @notice The patient is the zero address.
    error InvalidPatient(address patient);
    /// @notice The grantee is neither address(0) nor a registered institution.
    error GranteeNotInstitution(address grantee);

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

    /// @notice Revokes `consentId` with the patient's EIP-712 `Revoke` signature, submitted by a relayer.
    function revokeBySig(bytes32 consentId, uint256 nonce, uint256 deadline, bytes calldata signature) external;

    /// @notice Revokes `consentId`; the caller must be its patient.
    function revoke(bytes32 consentId) external;

    /// @notice Moves the caller's nonce to `newNonce`, cancelling every signature with a lower nonce.
    function increaseNonce(uint256 newNonce) external;

    /// @notice The decision for `requester` reading `categories` of `patient` for `purposes` at `at`.
    /// @dev Deny overrides: any active Deny consent that overlaps both the categories and the purposes
    ///      decides Deny; otherwise any active Permit consent that covers all the categories and all the
    ///      purposes decides Permit; otherwise NoConsent. Among several matches the earliest granted decides.
    ///      A consent is active at `at` when granted at or before it, not revoked at or before it, and
    ///      `validFrom <= at < validUntil` (or `validUntil == 0`). A wildcard grantee matches any holder of
    ///      the institution role. Reverts with InvalidCategories or InvalidPurposes when a mask is zero or has
    ///      unknown bits.
    /// @return decision The decision.
    /// @return consentId The deciding consent, or zero for NoConsent.
    function decide(address patient, address requester, uint256 categories, uint256 purposes, uint64 at)
        external
        view
        returns (Decision decision, bytes32 consentId);

    /// @notice The consent `consentId`; reverts with ConsentNotFound if unknown.
    function getConsent(bytes32 consentId) external view returns (Consent memory);

    /// @notice The ids of every consent `patient` has granted, in grant order.
    function consentsOf(address patient) external view returns (bytes32[] memory);

    /// @notice The id the terms would get with `nonce`.
    function consentIdOf(ConsentTerms calldata terms, uint256 nonce) external pure returns (bytes32);

    /// @notice The next nonce `account` must sign with.
    function nonces(address account) external view returns (uint256);

    /// @notice The contract's semantic version.
    function version() external pure returns (string memory);
}
