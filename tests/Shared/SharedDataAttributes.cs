using Xunit;

namespace MLNetRank.TestSupport
{
    /// <summary>
    /// A fact that reads the public data sets in <c>../shared/data</c>: skipped, with a message saying what is
    /// missing and how to provide it, where that folder is absent (a clone without shared/ still passes, and the
    /// skip is visible in the summary); run in CI, which has the folder.
    /// </summary>
    public sealed class SharedDataFactAttribute : FactAttribute
    {
        public SharedDataFactAttribute()
        {
            if (TestData.SharedDataFolder() is null)
                Skip = TestData.MissingMessage;
        }
    }

    /// <summary>The <see cref="SharedDataFactAttribute"/> rule for theories.</summary>
    public sealed class SharedDataTheoryAttribute : TheoryAttribute
    {
        public SharedDataTheoryAttribute()
        {
            if (TestData.SharedDataFolder() is null)
                Skip = TestData.MissingMessage;
        }
    }
}
