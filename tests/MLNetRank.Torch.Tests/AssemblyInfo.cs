using Xunit;

// libtorch's random generator, thread count and live-tensor statistics are process-wide: tests that train
// networks and assert determinism or memory must not interleave with each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
