using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.ML;
using MLNetRank.TestSupport;
using Xunit;

namespace MLNetRank.Tests.Common
{
    /// <summary>Every public catalog extension method documents an <c>&lt;example&gt;</c> that names runnable files of this repository.</summary>
    public class CatalogDocsTests
    {
        [Fact]
        public void EveryCatalogExtensionHasAnExampleNamingFilesThatExist()
        {
            var assembly = typeof(RankerCatalog).Assembly;
            string xmlPath = Path.ChangeExtension(assembly.Location, ".xml");
            Assert.True(File.Exists(xmlPath), $"XML documentation {xmlPath} not found (GenerateDocumentationFile)");
            var members = XDocument.Load(xmlPath).Descendants("member").ToDictionary(m => (string)m.Attribute("name")!, m => m);
            string root = TestData.RepoRoot() ?? throw new InvalidOperationException("repository root not found");

            var catalogs = assembly.GetExportedTypes().Where(t => t.IsAbstract && t.IsSealed && t.Name.EndsWith("Catalog", StringComparison.Ordinal)).ToList();
            Assert.Contains(catalogs, t => t.Name == "GbdtCatalog");
            int checkedMethods = 0;
            foreach (var type in catalogs)
            {
                foreach (var group in type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly)
                    .Where(m => m.IsDefined(typeof(System.Runtime.CompilerServices.ExtensionAttribute), false)).GroupBy(m => m.Name))
                {
                    string prefix = $"M:{type.FullName}.{group.Key}(";
                    var docs = members.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(kv => kv.Value).ToList();
                    Assert.True(docs.Count == group.Count(), $"{type.Name}.{group.Key}: {group.Count()} overloads, {docs.Count} documented");
                    foreach (var doc in docs)
                    {
                        var example = doc.Element("example");
                        Assert.True(example is not null, $"{doc.Attribute("name")}: no <example>");
                        var paths = example!.Elements("c").Select(c => c.Value).Where(v => Regex.IsMatch(v, @"^(examples|notebooks|tests|docs)/\S+\.(cs|ipynb|md)$")).ToList();
                        Assert.True(paths.Count > 0, $"{doc.Attribute("name")}: the <example> names no file of the repository");
                        foreach (var p in paths)
                            Assert.True(File.Exists(Path.Combine(root, p)), $"{doc.Attribute("name")}: example file {p} does not exist");
                        checkedMethods++;
                    }
                }
            }
            Assert.True(checkedMethods >= 25, $"only {checkedMethods} catalog methods found");
        }
    }
}
