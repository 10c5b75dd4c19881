package cli

// FlowOpenWalletRun is flow open-wallet's run, for tests that give it their own ReadLine.
var FlowOpenWalletRun = flowOpenWalletRun
