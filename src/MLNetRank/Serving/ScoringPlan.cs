using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Serving
{
    /// <summary>
    /// The request scorer's execution plan, fixed when the model is opened and never changed after: the stages (each an ML.NET
    /// segment and one ONNX network), for each stage the columns its segment reads and computes, the transforms after the last
    /// network (the tail), and the columns a request carries and returns. Built by one backward pass over the stages (what the
    /// last step needs decides what each earlier step computes); every <see cref="ScoringRequest"/> lays out its buffers from
    /// it, so concurrent requests share it without locks.
    /// </summary>
    internal sealed class ScoringPlan : IDisposable
    {
        public ScoringPlan(DataViewSchema inputSchema, ScoringStage[] stages, ITransformer? tail, DataViewSchema tailInputSchema)
        {
            if (stages.Length == 0)
                throw new ArgumentException("A scoring plan needs at least one ONNX network.", nameof(stages));
            Tail = tail;
            TailInputSchema = tailInputSchema;

            // Backward pass: which columns each segment must compute, and which the request must carry.
            var needed = new HashSet<string>(StringComparer.Ordinal);
            var tailOutputColumns = ImmutableArray<RequestColumn>.Empty;
            if (tail != null)
            {
                // The transforms after the last network: their visible, fixed-size new columns are outputs too.
                var mapper = tail.GetRowToRowMapper(tailInputSchema);
                var producedNames = ScoringStage.ProducedNames(tail, tailInputSchema);
                var produced = mapper.OutputSchema.Where(c => !c.IsHidden && producedNames.Contains(c.Name) && IsFixedSize(c.Type)).ToArray();
                TailProduced = produced.Select(c => c.Name).ToImmutableArray();
                tailOutputColumns = produced.Select(c => ScoringStage.ColumnOf(c.Name, c.Type)).ToImmutableArray();
                TailInputs = mapper.GetDependencies(produced).Select(c => c.Name).Distinct(StringComparer.Ordinal).ToImmutableArray();
                needed.UnionWith(TailInputs);
            }
            var steps = new Step[stages.Length];
            for (int k = stages.Length - 1; k >= 0; k--)
            {
                var stage = stages[k];
                needed.ExceptWith(stage.OutputNames);
                needed.UnionWith(stage.RequiredColumns);
                if (stage.Segment != null)
                {
                    var mapper = stage.CreateMapper();
                    var columns = needed.Select(n => mapper.OutputSchema.GetColumnOrNull(n)
                        ?? throw new InvalidDataException($"No column '{n}' reaches the input of ONNX network {k + 1}.")).ToArray();
                    var producedNames = ScoringStage.ProducedNames(stage.Segment, stage.SchemaBefore);
                    var produced = columns.Where(c => producedNames.Contains(c.Name)).Select(c => c.Name).ToImmutableArray();
                    var before = new HashSet<string>(mapper.GetDependencies(columns).Select(c => c.Name), StringComparer.Ordinal);
                    before.UnionWith(columns.Where(c => !producedNames.Contains(c.Name)).Select(c => c.Name));
                    steps[k] = new Step(stage, before.ToImmutableArray(), produced);
                    needed = before;
                }
                else
                    steps[k] = new Step(stage, needed.ToImmutableArray(), ImmutableArray<string>.Empty);
            }
            Steps = steps.ToImmutableArray();
            var outputs = new Dictionary<string, RequestColumn>(StringComparer.Ordinal);
            foreach (var stage in stages)
                for (int i = 0; i < stage.Outputs.Length; i++)
                    outputs[stage.OutputNames[i]] = ScoringStage.ColumnOf(stage.OutputNames[i], stage.OutputColumnTypes[i]);
            foreach (var c in tailOutputColumns)
                outputs[c.Name] = c;
            OutputColumns = outputs.Values.ToImmutableArray();
            RequestColumns = needed.OrderBy(n => n, StringComparer.Ordinal).Select(n =>
            {
                var col = inputSchema.GetColumnOrNull(n)
                    ?? throw new InvalidDataException($"The model's input schema has no column '{n}', which its first stage reads.");
                return ScoringStage.ColumnOf(n, col.Type);
            }).ToImmutableArray();
        }

        /// <summary>One stage of the plan with the columns its segment reads (<see cref="SegmentInputs"/>, names in the stage's
        /// <see cref="ScoringStage.SchemaBefore"/>) and computes for later steps (<see cref="Produced"/>).</summary>
        public sealed record Step(ScoringStage Stage, ImmutableArray<string> SegmentInputs, ImmutableArray<string> Produced);

        /// <summary>The stages in chain order.</summary>
        public ImmutableArray<Step> Steps { get; }

        /// <summary>The transforms after the last network, or null.</summary>
        public ITransformer? Tail { get; }

        /// <summary>The schema the tail reads (the last network's output schema).</summary>
        public DataViewSchema TailInputSchema { get; }

        /// <summary>The tail's output columns a request returns.</summary>
        public ImmutableArray<string> TailProduced { get; } = ImmutableArray<string>.Empty;

        /// <summary>The columns the tail reads to compute <see cref="TailProduced"/>.</summary>
        public ImmutableArray<string> TailInputs { get; } = ImmutableArray<string>.Empty;

        /// <summary>The columns a request carries.</summary>
        public ImmutableArray<RequestColumn> RequestColumns { get; }

        /// <summary>The columns a request returns.</summary>
        public ImmutableArray<RequestColumn> OutputColumns { get; }

        public ScoringStage LastStage => Steps[^1].Stage;

        public IRowToRowMapper CreateTailMapper() => Tail!.GetRowToRowMapper(TailInputSchema);

        private static bool IsFixedSize(DataViewType type)
        {
            if (type is VectorDataViewType v && !v.IsKnownSize)
                return false;
            var raw = (type is VectorDataViewType vt ? vt.ItemType : type).RawType;
            return raw == typeof(float) || raw == typeof(double) || raw == typeof(int) || raw == typeof(long) || raw == typeof(uint)
                || raw == typeof(ulong) || raw == typeof(short) || raw == typeof(ushort) || raw == typeof(byte) || raw == typeof(sbyte)
                || raw == typeof(bool) || raw == typeof(ReadOnlyMemory<char>);
        }

        /// <summary>Releases the stages' ONNX Runtime sessions and the loaded transforms.</summary>
        public void Dispose()
        {
            foreach (var step in Steps)
                step.Stage.Dispose();
            if (Tail is IEnumerable<ITransformer> tail)
                foreach (var t in tail)
                    (t as IDisposable)?.Dispose();
        }
    }
}
