// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev Data categories (DESIGN §4): bit 0 demographics … bit 11 care plans.
uint256 constant CATEGORY_COUNT = 12;
uint256 constant ALL_CATEGORIES = (1 << CATEGORY_COUNT) - 1;

/// @dev HL7 v3 PurposeOfUse: bit 0 TREAT, 1 ETREAT, 2 HPAYMT, 3 HOPERAT, 4 HRESCH, 5 PUBHLTH, 6 PATRQT.
uint256 constant PURPOSE_COUNT = 7;
uint256 constant ALL_PURPOSES = (1 << PURPOSE_COUNT) - 1;

/// @dev Roles shared by both contracts. The admin role is AccessControl's DEFAULT_ADMIN_ROLE (0x00), held by
///      exactly one account and transferred in two delayed steps (AccessControlDefaultAdminRules).
///      ConsentRegistry: RELAYER_ROLE and REGISTRAR_ROLE are administered by the admin; INSTITUTION_ROLE and
///      REGULATOR_ROLE by REGISTRAR_ROLE. AccessLedger: ANCHORER_ROLE is administered by the admin.
bytes32 constant RELAYER_ROLE = keccak256("RELAYER_ROLE");
bytes32 constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");
bytes32 constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
bytes32 constant INSTITUTION_ROLE = keccak256("INSTITUTION_ROLE");
bytes32 constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");

/// @notice A signature's deadline has passed.
error SignatureExpired(uint256 deadline, uint256 time);

/// @notice A signature does not recover to, or is not accepted by, the expected signer.
error InvalidSignature(address signer);

/// @notice A new nonce must be greater than the current one and fit in 128 bits.
error InvalidNonceIncrease(address account, uint256 currentNonce, uint256 newNonce);

/// @notice A signature's nonce is not the account's current nonce.
error InvalidAccountNonce(address account, uint256 currentNonce);

/// @notice `account` may not hold `role` while it holds `heldRole`: the two duties are kept on separate keys.
error RoleConflict(address account, bytes32 role, bytes32 heldRole);
