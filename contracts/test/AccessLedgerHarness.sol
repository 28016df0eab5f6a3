// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessLedger} from "../AccessLedger.sol";

/// @dev AccessLedger with a way to move the sequence counter, to test the ledger at the top of the uint64 range.
contract AccessLedgerHarness is AccessLedger {
    constructor(uint48 initialDelay, address initialAdmin) AccessLedger(initialDelay, initialAdmin) {}

    function setNextSeq(uint64 nextSeq_) external {
        _head.nextSeq = nextSeq_;
    }
}
