using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using MLNetRank.TestSupport;
using Xunit;

namespace MLNetRank.Torch.Tests.Reliability
{
    /// <summary>
    /// The library's source makes no temporary TorchSharp <c>Scalar</c>. TorchSharp 0.107 passes a Scalar's raw handle to
    /// its native call and nothing keeps the managed object alive meanwhile, so a garbage collection on any thread can run
    /// the Scalar's finalizer and free it while libtorch reads it ("Expected false to be true" in
    /// <c>c10::Scalar::toFloat</c>, "Unknown scalar type", or a silently wrong value). The scan compiles
    /// src/MLNetRank.Torch with Roslyn and fails on (1) any conversion of a number to <c>Scalar</c> (the implicit
    /// operators behind <c>1 - y</c>, <c>x * 0.5</c>, <c>clamp(1e-7)</c>, <c>pow(2)</c>, ...), (2) a <c>ToScalar()</c>
    /// whose result is not kept (a <c>using</c> local or a field), and (3) a call to a TorchSharp member that makes such a
    /// Scalar itself (TorchSharpScalarMakers.txt, generated from TorchSharp 0.107's source by build/torchsharp-scalar-makers.cs: <c>a + b</c> on two tensors
    /// is <c>add(b, 1)</c>, <c>square()</c> is <c>pow(2)</c>, <c>softplus</c>, ...). The idiom that passes:
    /// <see cref="MLNetRank.Torch.Layers.Scalars"/>.
    /// </summary>
    public class ScalarLifetimeGuardTests
    {
        [Fact]
        public void TheLibraryMakesNoTemporaryScalar()
        {
            var root = TestData.RepoRoot() ?? throw new InvalidOperationException("Repository root (MLNetRank.sln) not found above " + AppContext.BaseDirectory);
            var dir = Path.Combine(root, "src", "MLNetRank.Torch");
            var files = Directory.GetFiles(dir, "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains(Path.DirectorySeparatorChar + "obj" + Path.DirectorySeparatorChar)
                         && !f.Contains(Path.DirectorySeparatorChar + "bin" + Path.DirectorySeparatorChar))
                .ToArray();
            Assert.True(files.Length > 30, $"only {files.Length} source files under {dir}");
            var scan = Scan(files.Select(f => (Path.GetRelativePath(root, f), File.ReadAllText(f))), "MLNetRank.Torch");
            Assert.True(scan.TorchSharpCalls > 500, $"the scan saw only {scan.TorchSharpCalls} TorchSharp calls: is it reading the library?");
            Assert.True(scan.Violations.Count == 0,
                $"{scan.Violations.Count} temporary TorchSharp Scalar(s) in src/MLNetRank.Torch (use the shared Scalars of Layers/Scalars.cs, " +
                "or a Scalar kept in a field or a using local until the call returns):\n" + string.Join("\n", scan.Violations));
        }

        [Fact]
        public void TheScanFindsEachKindOfTemporaryScalar()
        {
            // the scan itself: one case of each kind must be found, and the kept forms must pass
            const string usings = "using TorchSharp;\nusing static TorchSharp.torch;\nnamespace Probe {\n";
            const string bad = usings + @"
    internal static class Bad
    {
        public static Tensor Run(Tensor y, Tensor z, double s)
        {
            var a = 1 - y;                         // TorchSharp's op_Subtraction(int, Tensor) converts the 1
            var b = y.clamp(1e-7, 1 - 1e-7);       // two conversions double -> Scalar here
            var c = y.mul(s.ToScalar());           // a ToScalar() that nothing keeps
            var d = y + z;                         // Tensor.add(Tensor) is add(z, 1)
            var e = y.square();                    // pow(2)
            var f = y.mul((Scalar)2.0);            // an explicit cast is a temporary too
            return a * b * c * d * e * f;
        }
    }
}";
            const string good = usings + @"
    internal sealed class Good : System.IDisposable
    {
        private readonly Scalar _half = 0.5.ToScalar();
        private Scalar? _late;
        public Tensor Run(Tensor y, Tensor z, double s)
        {
            using var k = s.ToScalar();
            _late = 3.ToScalar();
            var a = y.mul(_half).mul(k).mul(_late);
            return a.add(z, _half).sub(z) * y;
        }
        public void Dispose() { _half.Dispose(); _late?.Dispose(); }
    }
}";
            var found = Scan(new[] { ("Bad.cs", bad) }, "Probe").Violations;
            string all = string.Join("\n", found);
            Assert.True(found.Count == 7, $"expected 7 findings, got {found.Count}:\n{all}");
            Assert.Equal(3, found.Count(v => v.Contains("converts double to a temporary Scalar")));
            Assert.Single(found, v => v.Contains("ToScalar() result"));
            Assert.Single(found, v => v.Contains("op_Subtraction(System.Int32,TorchSharp.torch.Tensor)"));
            Assert.Single(found, v => v.Contains("op_Addition(TorchSharp.torch.Tensor,TorchSharp.torch.Tensor)"));
            Assert.Single(found, v => v.Contains("Tensor.square"));
            var clean = Scan(new[] { ("Good.cs", good) }, "Probe").Violations;
            Assert.True(clean.Count == 0, "the kept forms were flagged:\n" + string.Join("\n", clean));
        }

        internal sealed record ScanResult(List<string> Violations, int TorchSharpCalls);

        /// <summary>Compiles <paramref name="sources"/> against this process's assemblies (TorchSharp included) and lists every temporary Scalar.</summary>
        internal static ScanResult Scan(IEnumerable<(string Path, string Text)> sources, string assemblyName)
        {
            var parse = new CSharpParseOptions(LanguageVersion.Latest);
            var trees = sources.Select(s => CSharpSyntaxTree.ParseText(s.Text, parse, s.Path)).ToList();
            var skip = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "MLNetRank.Torch.dll", "MLNetRank.Torch.Tests.dll" };
            var refs = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
                .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) && !skip.Contains(Path.GetFileName(p)))
                .Select(p => MetadataReference.CreateFromFile(p));
            var compilation = CSharpCompilation.Create(assemblyName, trees, refs,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
            var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Take(5).ToList();
            Assert.True(errors.Count == 0, "the scan could not compile the source:\n" + string.Join("\n", errors));
            var scalar = compilation.GetTypeByMetadataName("TorchSharp.Scalar") ?? throw new InvalidOperationException("TorchSharp.Scalar not found");
            var makers = ScalarMakers();
            var violations = new List<string>();
            int torchCalls = 0;
            foreach (var tree in trees)
            {
                var model = compilation.GetSemanticModel(tree);
                var seen = new HashSet<IOperation>();
                foreach (var node in tree.GetRoot().DescendantNodes())
                {
                    if (node is not (MemberDeclarationSyntax or AccessorDeclarationSyntax) || node is BaseTypeDeclarationSyntax or NamespaceDeclarationSyntax)
                        continue;
                    var op = model.GetOperation(node);
                    if (op is null)
                        continue;
                    foreach (var o in op.DescendantsAndSelf())
                    {
                        if (!seen.Add(o))
                            continue;
                        string Where() => $"{tree.FilePath}:{o.Syntax.GetLocation().GetLineSpan().StartLinePosition.Line + 1}";
                        if (o is IConversionOperation conv && conv.OperatorMethod is not null
                            && SymbolEqualityComparer.Default.Equals(conv.Type, scalar)
                            && !SymbolEqualityComparer.Default.Equals(conv.Operand.Type, scalar))
                            violations.Add($"{Where()}: converts {conv.Operand.Type} to a temporary Scalar: {conv.Syntax}");
                        if (o is IInvocationOperation inv && inv.TargetMethod.Name == "ToScalar"
                            && SymbolEqualityComparer.Default.Equals(inv.TargetMethod.ReturnType, scalar) && !Kept(inv)
                            && !InTheCache(model, inv))
                            violations.Add($"{Where()}: a ToScalar() result that is not kept in a using local or a field: {inv.Syntax}");
                        IMethodSymbol? target = o switch
                        {
                            IInvocationOperation i => i.TargetMethod,
                            IBinaryOperation b => b.OperatorMethod,
                            IUnaryOperation u => u.OperatorMethod,
                            ICompoundAssignmentOperation c => c.OperatorMethod,
                            IObjectCreationOperation c => c.Constructor,
                            _ => null,
                        };
                        if (target is null || target.ContainingAssembly?.Name != "TorchSharp")
                            continue;
                        torchCalls++;
                        var id = target.OriginalDefinition.GetDocumentationCommentId();
                        if (id is not null && makers.Contains(id))
                            violations.Add($"{Where()}: {id} makes a temporary Scalar inside TorchSharp: {o.Syntax}");
                    }
                }
            }
            return new ScanResult(violations, torchCalls);
        }

        /// <summary>The one place that makes Scalars for everyone: the process-lifetime cache of MLNetRank.Torch.Layers.Scalars.</summary>
        private static bool InTheCache(SemanticModel model, IInvocationOperation inv)
            => model.GetEnclosingSymbol(inv.Syntax.SpanStart)?.ContainingType?.ToDisplayString() == "MLNetRank.Torch.Layers.Scalars";

        /// <summary>A ToScalar() result is kept when it initializes a <c>using</c> local or a field, or is assigned to a field or property.</summary>
        private static bool Kept(IInvocationOperation inv)
        {
            var parent = inv.Parent;
            while (parent is IConversionOperation { IsImplicit: true })
                parent = parent.Parent;
            switch (parent)
            {
                case IFieldInitializerOperation:
                    return true;
                case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation { Parent: IVariableDeclarationOperation decl } }:
                    return decl.Parent is IVariableDeclarationGroupOperation { Parent: IUsingOperation or IUsingDeclarationOperation }
                        || decl.Parent is IUsingOperation or IUsingDeclarationOperation;
                case ISimpleAssignmentOperation a:
                    return a.Target is IFieldReferenceOperation or IPropertyReferenceOperation;
                default:
                    return false;
            }
        }

        private static HashSet<string> ScalarMakers()
        {
            var path = Path.Combine(AppContext.BaseDirectory, "Reliability", "TorchSharpScalarMakers.txt");
            var ids = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToHashSet(StringComparer.Ordinal);
            Assert.True(ids.Count > 300, $"{path} lists only {ids.Count} members");
            return ids;
        }
    }
}
