using System.Reflection;
using Microsoft.ML;

namespace MLNetRank.TestSupport
{
    /// <summary>
    /// Test-only access to ML.NET's internal <c>SchemaShape.Create(DataViewSchema)</c>, so tests can call an
    /// estimator's <c>GetOutputSchema</c> the way ML.NET's pipeline does. (Product code never reflects into ML.NET.)
    /// </summary>
    internal static class Shapes
    {
        public static SchemaShape Of(DataViewSchema schema)
        {
            var create = typeof(SchemaShape).GetMethod("Create", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic, new[] { typeof(DataViewSchema) })!;
            return (SchemaShape)create.Invoke(null, new object[] { schema })!;
        }
    }
}
