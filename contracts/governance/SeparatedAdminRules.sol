// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";

import {RoleConflict} from "../Common.sol";

/// @title SeparatedAdminRules
/// @notice OpenZeppelin's AccessControlDefaultAdminRules (one admin, two-step transfer after a delay, renouncing
///         only through the same delayed schedule) plus separation of duties: pairs of roles that no account may
///         hold at once. A pair may include DEFAULT_ADMIN_ROLE, so an admin cannot grant itself an operator role,
///         and an operator key cannot be made admin.
abstract contract SeparatedAdminRules is AccessControlDefaultAdminRules {
    constructor(uint48 initialDelay, address initialAdmin) AccessControlDefaultAdminRules(initialDelay, initialAdmin) {}

    /// @dev The role pairs no account may hold together. Each contract lists its own.
    function _separatedRoles() internal pure virtual returns (bytes32[2][] memory);

    /// @dev Checked on every grant, including the admin's acceptance of a transfer.
    function _grantRole(bytes32 role, address account) internal virtual override returns (bool) {
        _checkSeparation(role, account);
        return super._grantRole(role, account);
    }

    /// @dev Refuses early a transfer that acceptance would refuse anyway.
    function _beginDefaultAdminTransfer(address newAdmin) internal virtual override {
        if (newAdmin != address(0)) _checkSeparation(DEFAULT_ADMIN_ROLE, newAdmin);
        super._beginDefaultAdminTransfer(newAdmin);
    }

    function _checkSeparation(bytes32 role, address account) private view {
        bytes32[2][] memory pairs = _separatedRoles();
        for (uint256 i = 0; i < pairs.length; ++i) {
            bytes32 other;
            if (pairs[i][0] == role) other = pairs[i][1];
            else if (pairs[i][1] == role) other = pairs[i][0];
            else continue;
            if (hasRole(other, account)) revert RoleConflict(account, role, other);
        }
    }
}
