// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {
    ALL_CATEGORIES,
    ALL_PURPOSES,
    INSTITUTION_ROLE,
    RELAYER_ROLE,
    SignatureExpired,
    InvalidSignature,
    InvalidNonceIncrease,
    InvalidAccountNonce
} from "./Common.sol";

/// @title ConsentRegistry
/// @notice Patients' consents: granted and revoked by the patient directly or through a relayer with the
///         patient's EIP-712 signature. See {IConsentRegistry}.
contract ConsentRegistry is IConsentRegistry, AccessControl, EIP712 {
    /// @dev keccak256("Grant(address patient,address grantee,uint256 categories,uint256 purposes,uint8 effect,uint64 validFrom,uint64 validUntil,uint256 nonce,uint256 deadline)")
    bytes32 private constant GRANT_TYPEHASH = 0x5cee929efbe0826a7d697a2d14ce667f813cfdf532fd133f457191c60c9902df;

    /// @dev keccak256("Revoke(bytes32 consentId,uint256 nonce,uint256 deadline)")
    bytes32 private constant REVOKE_TYPEHASH = 0xcbf4e341d5bdc6710e8eff74acc415be6749bbf3e59404b3c84b34a3c8c1e114;

    /// @dev Three storage slots per consent: the bitmasks fit in 32 bits because unknown bits are rejected.
    struct StoredConsent {
        address patient;
        uint64 validFrom;
        Effect effect;
        address grantee;
        uint64 validUntil;
        uint64 grantedAt;
        uint64 revokedAt;
        uint32 categories;
        uint32 purposes;
    }

    mapping(bytes32 consentId => StoredConsent) private _consents;
    mapping(address patient => bytes32[]) private _consentIds;
    // Own nonces rather than OpenZeppelin's Nonces: cancelling signatures needs an O(1) jump forward.
    mapping(address account => uint256) private _nonces;

    constructor(address admin) EIP712("Consentry ConsentRegistry", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IConsentRegistry
    function grantBySig(ConsentTerms calldata terms, uint256 nonce, uint256 deadline, bytes calldata signature)
        external
        onlyRole(RELAYER_ROLE)
        returns (bytes32)
    {
        _checkDeadline(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    GRANT_TYPEHASH,
                    terms.patient,
                    terms.grantee,
                    terms.categories,
                    terms.purposes,
                    terms.effect,
                    terms.validFrom,
                    terms.validUntil,
                    nonce,
                    deadline
                )
            )
        );
        _checkSignature(terms.patient, digest, signature);
        _useCheckedNonce(terms.patient, nonce);
        return _grant(terms, nonce);
    }

    /// @inheritdoc IConsentRegistry
    function grant(ConsentTerms calldata terms) external returns (bytes32) {
        if (terms.patient != _msgSender()) revert NotPatient(terms.patient, _msgSender());
        return _grant(terms, _useNonce(terms.patient));
    }

    /// @inheritdoc IConsentRegistry
    function revokeBySig(bytes32 consentId, uint256 nonce, uint256 deadline, bytes calldata signature)
        external
        onlyRole(RELAYER_ROLE)
    {
        _checkDeadline(deadline);
        address patient = _consents[consentId].patient;
        if (patient == address(0)) revert ConsentNotFound(consentId);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(REVOKE_TYPEHASH, consentId, nonce, deadline)));
        _checkSignature(patient, digest, signature);
        _useCheckedNonce(patient, nonce);
        _revoke(consentId, patient);
    }

    /// @inheritdoc IConsentRegistry
    function revoke(bytes32 consentId) external {
        _revoke(consentId, _msgSender());
    }

    /// @inheritdoc IConsentRegistry
    function increaseNonce(uint256 newNonce) external {
        address account = _msgSender();
        uint256 oldNonce = nonces(account);
        if (newNonce <= oldNonce) revert InvalidNonceIncrease(account, oldNonce, newNonce);
        _nonces[account] = newNonce;
        emit NonceIncreased(account, oldNonce, newNonce);
    }

    /// @inheritdoc IConsentRegistry
    function decide(address patient, address requester, uint256 categories, uint256 purposes, uint64 at)
        external
        view
        returns (Decision, bytes32)
    {
        // An empty question would be "covered" by any permit; unknown bits can never be granted.
        if (categories == 0 || categories & ~ALL_CATEGORIES != 0) revert InvalidCategories(categories);
        if (purposes == 0 || purposes & ~ALL_PURPOSES != 0) revert InvalidPurposes(purposes);
        bytes32[] storage ids = _consentIds[patient];
        bool requesterIsInstitution = hasRole(INSTITUTION_ROLE, requester);
        bytes32 permitId;
        for (uint256 i = 0; i < ids.length; ++i) {
            StoredConsent storage c = _consents[ids[i]];
            if (!_isActive(c, at)) continue;
            if (c.grantee != requester && !(c.grantee == address(0) && requesterIsInstitution)) continue;
            if (c.effect == Effect.Deny) {
                if (categories & c.categories != 0 && purposes & c.purposes != 0) return (Decision.Deny, ids[i]);
            } else if (
                permitId == bytes32(0) && categories & ~uint256(c.categories) == 0
                    && purposes & ~uint256(c.purposes) == 0
            ) {
                permitId = ids[i];
            }
        }
        return permitId == bytes32(0) ? (Decision.NoConsent, bytes32(0)) : (Decision.Permit, permitId);
    }

    /// @inheritdoc IConsentRegistry
    function getConsent(bytes32 consentId) external view returns (Consent memory) {
        StoredConsent storage c = _consents[consentId];
        if (c.patient == address(0)) revert ConsentNotFound(consentId);
        return Consent({
            terms: ConsentTerms({
                patient: c.patient,
                grantee: c.grantee,
                categories: c.categories,
                purposes: c.purposes,
                effect: c.effect,
                validFrom: c.validFrom,
                validUntil: c.validUntil
            }),
            grantedAt: c.grantedAt,
            revokedAt: c.revokedAt
        });
    }

    /// @inheritdoc IConsentRegistry
    function consentsOf(address patient) external view returns (bytes32[] memory) {
        return _consentIds[patient];
    }

    /// @inheritdoc IConsentRegistry
    function consentIdOf(ConsentTerms calldata terms, uint256 nonce) public pure returns (bytes32) {
        return keccak256(
            abi.encode(
                terms.patient,
                terms.grantee,
                terms.categories,
                terms.purposes,
                terms.effect,
                terms.validFrom,
                terms.validUntil,
                nonce
            )
        );
    }

    /// @inheritdoc IConsentRegistry
    function nonces(address account) public view returns (uint256) {
        return _nonces[account];
    }

    /// @notice The EIP-712 domain separator of this chain and contract.
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IConsentRegistry
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @dev The clock every time check uses; virtual so a test harness can move it.
    function _time() internal view virtual returns (uint64) {
        return uint64(block.timestamp);
    }

    function _grant(ConsentTerms calldata terms, uint256 nonce) private returns (bytes32 consentId) {
        _validate(terms);
        consentId = consentIdOf(terms, nonce);
        if (_consents[consentId].patient != address(0)) revert ConsentAlreadyExists(consentId);
        _consents[consentId] = StoredConsent({
            patient: terms.patient,
            validFrom: terms.validFrom,
            effect: terms.effect,
            grantee: terms.grantee,
            validUntil: terms.validUntil,
            grantedAt: _time(),
            revokedAt: 0,
            categories: uint32(terms.categories),
            purposes: uint32(terms.purposes)
        });
        _consentIds[terms.patient].push(consentId);
        emit ConsentGranted(
            consentId,
            terms.patient,
            terms.grantee,
            terms.categories,
            terms.purposes,
            terms.effect,
            terms.validFrom,
            terms.validUntil,
            nonce
        );
    }

    function _revoke(bytes32 consentId, address account) private {
        StoredConsent storage c = _consents[consentId];
        if (c.patient == address(0)) revert ConsentNotFound(consentId);
        if (c.patient != account) revert NotConsentPatient(consentId, account);
        if (c.revokedAt != 0) revert ConsentAlreadyRevoked(consentId, c.revokedAt);
        uint64 revokedAt = _time();
        c.revokedAt = revokedAt;
        emit ConsentRevoked(consentId, account, revokedAt);
    }

    function _validate(ConsentTerms calldata terms) private view {
        if (terms.patient == address(0)) revert InvalidPatient(terms.patient);
        if (terms.categories == 0 || terms.categories & ~ALL_CATEGORIES != 0) {
            revert InvalidCategories(terms.categories);
        }
        if (terms.purposes == 0 || terms.purposes & ~ALL_PURPOSES != 0) revert InvalidPurposes(terms.purposes);
        if (terms.validUntil != 0 && (terms.validUntil <= terms.validFrom || terms.validUntil <= _time())) {
            revert InvalidValidity(terms.validFrom, terms.validUntil);
        }
        if (terms.grantee != address(0) && !hasRole(INSTITUTION_ROLE, terms.grantee)) {
            revert GranteeNotInstitution(terms.grantee);
        }
    }

    function _isActive(StoredConsent storage c, uint64 at) private view returns (bool) {
        return c.grantedAt <= at && (c.revokedAt == 0 || at < c.revokedAt) && c.validFrom <= at
            && (c.validUntil == 0 || at < c.validUntil);
    }

    /// @dev Checked on purpose: increaseNonce can jump to type(uint256).max, and wrapping to 0 would make
    ///      cancelled signatures valid again. Using the maximum nonce therefore reverts (Panic 0x11).
    function _useNonce(address account) private returns (uint256) {
        return _nonces[account]++;
    }

    function _useCheckedNonce(address account, uint256 nonce) private {
        uint256 current = _nonces[account];
        if (nonce != current) revert InvalidAccountNonce(account, current);
        _useNonce(account);
    }

    function _checkDeadline(uint256 deadline) private view {
        if (_time() > deadline) revert SignatureExpired(deadline, _time());
    }

    function _checkSignature(address signer, bytes32 digest, bytes calldata signature) private view {
        if (!SignatureChecker.isValidSignatureNow(signer, digest, signature)) revert InvalidSignature(signer);
    }
}
