// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @dev A smart-contract wallet for tests that answers `isValidSignature` in a hostile or malformed way.
contract HostileERC1271Wallet {
    enum Mode {
        /// Reverts with a reason string.
        Revert,
        /// Reverts with no data.
        RevertEmpty,
        /// Loops until it has burnt all the gas it was given.
        BurnGas,
        /// Returns nothing.
        ReturnNothing,
        /// Returns only the four selector bytes instead of a 32-byte word.
        ReturnShort,
        /// Returns `true` as a bool.
        ReturnTrue,
        /// Returns the selector with nonzero bytes after it in the same word.
        ReturnDirtySelector,
        /// Returns the selector, then 64 KiB of padding (the caller should copy one word).
        ReturnBomb,
        /// Tries to write its own storage, which a static call forbids.
        WriteState
    }

    Mode public immutable mode;
    uint256 public writes;

    error Refused();

    constructor(Mode mode_) {
        mode = mode_;
    }

    fallback() external {
        Mode m = mode;
        bytes4 magic = IERC1271.isValidSignature.selector;
        if (m == Mode.Revert) revert Refused();
        if (m == Mode.RevertEmpty) {
            assembly {
                revert(0, 0)
            }
        }
        if (m == Mode.BurnGas) {
            for (;;) {
                writes; // reads a slot on every round, so it burns faster
            }
        }
        if (m == Mode.ReturnNothing) {
            assembly {
                return(0, 0)
            }
        }
        if (m == Mode.ReturnShort) {
            assembly {
                mstore(0, magic)
                return(0, 4)
            }
        }
        if (m == Mode.ReturnTrue) {
            assembly {
                mstore(0, 1)
                return(0, 32)
            }
        }
        if (m == Mode.ReturnDirtySelector) {
            assembly {
                mstore(0, or(magic, 1))
                return(0, 32)
            }
        }
        if (m == Mode.ReturnBomb) {
            assembly {
                mstore(0, magic)
                return(0, 0x10000)
            }
        }
        writes += 1;
        assembly {
            mstore(0, magic)
            return(0, 32)
        }
    }
}
