// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {SeparatedAdminRules} from "./governance/SeparatedAdminRules.sol";
import {
    ALL_CATEGORIES,
    ALL_PURPOSES,
    INSTITUTION_ROLE,
    REGISTRAR_ROLE,
    REGULATOR_ROLE,
    RELAYER_ROLE,
    SignatureExpired,
    InvalidSignature,
    InvalidNonceIncrease,
    InvalidAccountNonce
} from "./Common.sol";

/// @title ConsentRegistry
/// @notice Patients' consents: granted by the patient directly or through a relayer with the patient's EIP-712
///         signature, revoked by the patient or with their signature by anyone. Institution membership is kept
///         as a history, so decisions about the past are stable. See {IConsentRegistry}.
/// @dev Roles: DEFAULT_ADMIN_ROLE (one account, two-step delayed transfer) administers RELAYER_ROLE and
///      REGISTRAR_ROLE; REGISTRAR_ROLE administers INSTITUTION_ROLE and REGULATOR_ROLE. No account may hold
///      RELAYER_ROLE together with DEFAULT_ADMIN_ROLE or REGISTRAR_ROLE.
contract ConsentRegistry is IConsentRegistry, SeparatedAdminRules, EIP712 {
    using Checkpoints for Checkpoints.Trace208;

    /// @dev keccak256("Grant(address patient,address grantee,uint256 categories,uint256 purposes,uint8 effect,uint64 validFrom,uint64 validUntil,uint256 nonce,uint256 deadline)")
    bytes32 private constant GRANT_TYPEHASH = 0x5cee929efbe0826a7d697a2d14ce667f813cfdf532fd133f457191c60c9902df;

    /// @dev keccak256("Revoke(bytes32 consentId,uint256 deadline)")
    bytes32 private constant REVOKE_TYPEHASH = 0xcd683ff6d4a5a55e5b034853b9a5bb4c1dccce7ac26b9d91ee13ee99ab906035;

    /// @dev keccak256("IncreaseNonce(address account,uint256 newNonce,uint256 deadline)")
    bytes32 private constant INCREASE_NONCE_TYPEHASH =
        0xeb8c32714f27c88572bf88c7f3cb1739cfd0af9b28b23e7b2a2485efb93b4c9f;

    /// @notice Gas an ERC-1271 wallet may spend in one `isValidSignature` call. A wallet that burns more fails
    ///         the check instead of burning the submitter's whole gas limit.
    uint256 public constant ERC1271_GAS_LIMIT = 500_000;

    /// @dev Times are stored in 40 bits (until the year 36812).
    uint64 private constant MAX_TIME = type(uint40).max;

    /// @dev Sentinel for "no consent found yet" in {decide}: above every position.
    uint256 private constant NONE = type(uint256).max;

    /// @dev Two storage slots per consent; the bitmasks fit because unknown bits are rejected.
    struct StoredConsent {
        // slot 0: written at grant, revokedAt at revocation
        address patient;
        uint40 grantedAt;
        uint40 revokedAt;
        uint16 categories;
        // slot 1: written at grant only
        address grantee;
        uint40 validFrom;
        uint40 validUntil;
        uint8 purposes;
        Effect effect;
    }

    /// @dev One slot per patient: the grant nonce and how many consents they have granted.
    struct PatientState {
        uint128 nonce;
        uint32 consentCount;
    }

    mapping(bytes32 consentId => StoredConsent) private _consents;
    mapping(address patient => PatientState) private _patients;
    /// @dev A patient's consents in grant order; the position is the consent's rank among the patient's grants.
    mapping(address patient => mapping(uint256 position => bytes32 consentId)) private _consentIds;
    /// @dev The index {decide} reads: positions of a patient's consents per grantee (address(0) for wildcards),
    ///      ascending, as a packed list of 32-bit words (see {_push}).
    mapping(address patient => mapping(address grantee => mapping(uint256 => uint256))) private _index;
    /// @dev Institution membership over time: 1 from a grant of INSTITUTION_ROLE, 0 from its revocation.
    mapping(address account => Checkpoints.Trace208) private _membership;

    /// @param initialDelay Seconds a scheduled admin transfer waits before it can be accepted.
    /// @param initialAdmin The account holding DEFAULT_ADMIN_ROLE.
    constructor(uint48 initialDelay, address initialAdmin)
        SeparatedAdminRules(initialDelay, initialAdmin)
        EIP712("Consentry ConsentRegistry", "2")
    {
        _setRoleAdmin(INSTITUTION_ROLE, REGISTRAR_ROLE);
        _setRoleAdmin(REGULATOR_ROLE, REGISTRAR_ROLE);
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
        uint256 current = _patients[terms.patient].nonce;
        if (nonce != current) revert InvalidAccountNonce(terms.patient, current);
        return _grant(terms);
    }

    /// @inheritdoc IConsentRegistry
    function grant(ConsentTerms calldata terms) external returns (bytes32) {
        if (terms.patient != _msgSender()) revert NotPatient(terms.patient, _msgSender());
        return _grant(terms);
    }

    /// @inheritdoc IConsentRegistry
    function revokeBySig(bytes32 consentId, uint256 deadline, bytes calldata signature) external {
        _checkDeadline(deadline);
        address patient = _consents[consentId].patient;
        if (patient == address(0)) revert ConsentNotFound(consentId);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(REVOKE_TYPEHASH, consentId, deadline)));
        _checkSignature(patient, digest, signature);
        _revoke(consentId, patient);
    }

    /// @inheritdoc IConsentRegistry
    function revoke(bytes32 consentId) external {
        _revoke(consentId, _msgSender());
    }

    /// @inheritdoc IConsentRegistry
    function increaseNonce(uint256 newNonce) external {
        _increaseNonce(_msgSender(), newNonce);
    }

    /// @inheritdoc IConsentRegistry
    function increaseNonceBySig(address account, uint256 newNonce, uint256 deadline, bytes calldata signature)
        external
    {
        _checkDeadline(deadline);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(INCREASE_NONCE_TYPEHASH, account, newNonce, deadline)));
        _checkSignature(account, digest, signature);
        _increaseNonce(account, newNonce);
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
        Question memory q = Question({
            categories: categories,
            purposes: purposes,
            at: at,
            permits: _isInstitutionAt(requester, at),
            deny: NONE,
            permit: NONE
        });
        mapping(uint256 => bytes32) storage ids = _consentIds[patient];
        _scan(q, ids, _index[patient][address(0)]);
        if (requester != address(0)) _scan(q, ids, _index[patient][requester]);
        if (q.deny != NONE) return (Decision.Deny, ids[q.deny]);
        if (q.permit != NONE) return (Decision.Permit, ids[q.permit]);
        return (Decision.NoConsent, bytes32(0));
    }

    /// @inheritdoc IConsentRegistry
    function isInstitutionAt(address account, uint64 at) external view returns (bool) {
        return _isInstitutionAt(account, at);
    }

    /// @inheritdoc IConsentRegistry
    function institutionHistory(address account) external view returns (MembershipChange[] memory changes) {
        Checkpoints.Trace208 storage history = _membership[account];
        changes = new MembershipChange[](history.length());
        for (uint256 i = 0; i < changes.length; ++i) {
            Checkpoints.Checkpoint208 memory checkpoint = history.pos(uint32(i));
            changes[i] = MembershipChange({at: checkpoint._key, member: checkpoint._value != 0});
        }
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
    function consentsOf(address patient) external view returns (bytes32[] memory ids) {
        ids = new bytes32[](_patients[patient].consentCount);
        for (uint256 i = 0; i < ids.length; ++i) {
            ids[i] = _consentIds[patient][i];
        }
    }

    /// @inheritdoc IConsentRegistry
    function consentsTo(address patient, address grantee) external view returns (bytes32[] memory ids) {
        mapping(uint256 => uint256) storage list = _index[patient][grantee];
        uint256 word = list[0];
        ids = new bytes32[](uint32(word));
        for (uint256 i = 0; i < ids.length; ++i) {
            uint256 position;
            (position, word) = _positionAt(list, i, word);
            ids[i] = _consentIds[patient][position];
        }
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
        return _patients[account].nonce;
    }

    /// @notice The EIP-712 domain separator of this chain and contract.
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IConsentRegistry
    function version() external pure returns (string memory) {
        return "2.0.0";
    }

    /// @dev The clock every time check uses; virtual so a test harness can move it.
    function _time() internal view virtual returns (uint64) {
        return uint64(block.timestamp);
    }

    /// @dev Institution membership is recorded as it changes; the zero address, which means "every requester"
    ///      in a consent, can never be an institution.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        if (role == INSTITUTION_ROLE && account == address(0)) revert InvalidInstitution(account);
        granted = super._grantRole(role, account);
        if (granted && role == INSTITUTION_ROLE) _membership[account].push(uint48(_time()), 1);
    }

    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked && role == INSTITUTION_ROLE) _membership[account].push(uint48(_time()), 0);
    }

    function _separatedRoles() internal pure override returns (bytes32[2][] memory pairs) {
        pairs = new bytes32[2][](2);
        pairs[0] = [DEFAULT_ADMIN_ROLE, RELAYER_ROLE];
        pairs[1] = [REGISTRAR_ROLE, RELAYER_ROLE];
    }

    /// @dev What {decide} is asked and what it has found so far: the positions of the earliest matching deny
    ///      and permit, or NONE.
    struct Question {
        uint256 categories;
        uint256 purposes;
        uint64 at;
        bool permits;
        uint256 deny;
        uint256 permit;
    }

    /// @dev Scans one ascending list of positions. A deny ends the scan; nothing after the deny already found
    ///      (in another list) can decide before it. Each consent costs one cold read of its id and of its first
    ///      slot; its second slot is read only when it was granted by `at`, not revoked by then, and shares a
    ///      category with the question.
    function _scan(Question memory q, mapping(uint256 => bytes32) storage ids, mapping(uint256 => uint256) storage list)
        private
        view
    {
        (uint256 at, uint256 categories, uint256 purposes) = (q.at, q.categories, q.purposes);
        uint256 word = list[0];
        uint256 length = uint32(word);
        for (uint256 i = 0; i < length; ++i) {
            uint256 position;
            (position, word) = _positionAt(list, i, word);
            if (position >= q.deny) return;
            bytes32 id = ids[position];
            uint256 slot;
            uint256 word0;
            assembly ("memory-safe") {
                mstore(0x00, id)
                mstore(0x20, _consents.slot)
                slot := keccak256(0x00, 0x40)
                word0 := sload(slot)
            }
            // slot 0: patient (bits 0-159), grantedAt (160-199), revokedAt (200-239), categories (240-255)
            if (uint40(word0 >> 160) > at || _endedBy(word0 >> 200, at) || (word0 >> 240) & categories == 0) continue;
            uint256 word1;
            assembly ("memory-safe") {
                word1 := sload(add(slot, 1))
            }
            // slot 1: grantee (bits 0-159), validFrom (160-199), validUntil (200-239), purposes (240-247), effect
            if (uint40(word1 >> 160) > at || _endedBy(word1 >> 200, at)) continue;
            if (word1 >> 248 == uint256(Effect.Deny)) {
                if (purposes & (word1 >> 240) & ALL_PURPOSES != 0) {
                    q.deny = position;
                    return;
                }
            } else if (
                q.permits && position < q.permit && categories & ~(word0 >> 240) == 0
                    && purposes & ~uint256(uint8(word1 >> 240)) == 0
            ) {
                q.permit = position;
            }
        }
    }

    /// @dev Whether a 40-bit end time (the low 40 bits of `word`; 0 for none) is at or before `at`.
    function _endedBy(uint256 word, uint256 at) private pure returns (bool) {
        uint256 end = uint40(word);
        return end != 0 && at >= end;
    }

    function _grant(ConsentTerms calldata terms) private returns (bytes32 consentId) {
        _validate(terms);
        PatientState storage state = _patients[terms.patient];
        uint128 nonce = state.nonce;
        uint32 position = state.consentCount;
        consentId = consentIdOf(terms, nonce);
        if (_consents[consentId].patient != address(0)) revert ConsentAlreadyExists(consentId);
        // Checked on purpose: increaseNonce can jump to the maximum, and wrapping to 0 would make cancelled
        // signatures valid again. Using the maximum nonce therefore reverts (Panic 0x11).
        state.nonce = nonce + 1;
        state.consentCount = position + 1;
        _consents[consentId] = StoredConsent({
            patient: terms.patient,
            grantedAt: uint40(_time()),
            revokedAt: 0,
            categories: uint16(terms.categories),
            grantee: terms.grantee,
            validFrom: uint40(terms.validFrom),
            validUntil: uint40(terms.validUntil),
            purposes: uint8(terms.purposes),
            effect: terms.effect
        });
        _consentIds[terms.patient][position] = consentId;
        _push(_index[terms.patient][terms.grantee], position);
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

    /// @dev A packed list of 32-bit positions. Word 0 holds the length in bits 0-31 and the first seven entries
    ///      above it; word 1 + k holds entries 7 + 8k … 14 + 8k. A patient's first consent to a grantee thus
    ///      writes one fresh slot, and the next six to that grantee none.
    function _push(mapping(uint256 => uint256) storage list, uint256 position) private {
        uint256 word0 = list[0];
        uint256 length = uint32(word0);
        if (length < 7) {
            list[0] = (word0 + 1) | (position << (32 * (length + 1)));
        } else {
            uint256 k = length - 7;
            list[1 + k / 8] |= position << (32 * (k % 8));
            list[0] = word0 + 1;
        }
    }

    /// @dev Entry `i` of a packed list, reading from `word` (word 0 at first) or loading the next word when `i`
    ///      starts one; returns the word to pass on for `i + 1`.
    function _positionAt(mapping(uint256 => uint256) storage list, uint256 i, uint256 word)
        private
        view
        returns (uint256 position, uint256)
    {
        unchecked {
            if (i < 7) return (uint32(word >> (32 * (i + 1))), word);
            uint256 k = i - 7;
            if (k % 8 == 0) word = list[1 + k / 8];
            return (uint32(word >> (32 * (k % 8))), word);
        }
    }

    function _revoke(bytes32 consentId, address account) private {
        StoredConsent storage c = _consents[consentId];
        if (c.patient == address(0)) revert ConsentNotFound(consentId);
        if (c.patient != account) revert NotConsentPatient(consentId, account);
        if (c.revokedAt != 0) revert ConsentAlreadyRevoked(consentId, c.revokedAt);
        uint64 revokedAt = _time();
        c.revokedAt = uint40(revokedAt);
        emit ConsentRevoked(consentId, account, revokedAt);
    }

    function _increaseNonce(address account, uint256 newNonce) private {
        uint256 oldNonce = _patients[account].nonce;
        if (newNonce <= oldNonce || newNonce > type(uint128).max) {
            revert InvalidNonceIncrease(account, oldNonce, newNonce);
        }
        _patients[account].nonce = uint128(newNonce);
        emit NonceIncreased(account, oldNonce, newNonce);
    }

    function _validate(ConsentTerms calldata terms) private view {
        if (terms.patient == address(0)) revert InvalidPatient(terms.patient);
        if (terms.categories == 0 || terms.categories & ~ALL_CATEGORIES != 0) {
            revert InvalidCategories(terms.categories);
        }
        if (terms.purposes == 0 || terms.purposes & ~ALL_PURPOSES != 0) revert InvalidPurposes(terms.purposes);
        if (
            terms.validFrom > MAX_TIME || terms.validUntil > MAX_TIME
                || (terms.validUntil != 0 && (terms.validUntil <= terms.validFrom || terms.validUntil <= _time()))
        ) {
            revert InvalidValidity(terms.validFrom, terms.validUntil);
        }
        if (terms.grantee != address(0) && !hasRole(INSTITUTION_ROLE, terms.grantee)) {
            revert GranteeNotInstitution(terms.grantee);
        }
    }

    function _isInstitutionAt(address account, uint64 at) private view returns (bool) {
        Checkpoints.Trace208 storage history = _membership[account];
        if (at > type(uint48).max) return history.latest() != 0;
        return history.upperLookupRecent(uint48(at)) != 0;
    }

    function _checkDeadline(uint256 deadline) private view {
        if (_time() > deadline) revert SignatureExpired(deadline, _time());
    }

    /// @dev OpenZeppelin's SignatureChecker, with the ERC-1271 call's gas capped at ERC1271_GAS_LIMIT and only
    ///      the first 32 bytes of its return data copied: a reverting, gas-burning or malformed wallet makes the
    ///      signature invalid and costs the submitter a bounded amount.
    function _checkSignature(address signer, bytes32 digest, bytes calldata signature) private view {
        bool valid;
        if (signer.code.length == 0) {
            (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
            valid = err == ECDSA.RecoverError.NoError && recovered == signer;
        } else {
            bytes4 selector = IERC1271.isValidSignature.selector;
            uint256 gasLimit = ERC1271_GAS_LIMIT;
            assembly ("memory-safe") {
                let ptr := mload(0x40)
                let length := signature.length
                mstore(ptr, selector)
                mstore(add(ptr, 0x04), digest)
                mstore(add(ptr, 0x24), 0x40)
                mstore(add(ptr, 0x44), length)
                calldatacopy(add(ptr, 0x64), signature.offset, length)
                mstore(add(add(ptr, 0x64), length), 0)
                let paddedLength := shl(5, shr(5, add(length, 0x1f)))
                mstore(0x00, 0)
                let success := staticcall(gasLimit, signer, ptr, add(paddedLength, 0x64), 0x00, 0x20)
                valid := and(success, and(gt(returndatasize(), 0x1f), eq(mload(0x00), selector)))
            }
        }
        if (!valid) revert InvalidSignature(signer);
    }
}
