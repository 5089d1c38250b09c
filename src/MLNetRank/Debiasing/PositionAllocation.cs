using System;
using System.Collections.Generic;

namespace MLNetRank.Debiasing
{
    /// <summary>
    /// Position-aware allocation: assigns <c>N</c> candidates to <c>S</c> slots (<c>S ≤ N</c>) given a score per candidate and
    /// slot, e.g. the click probabilities of a model with per-position towers (<c>{Task}PositionProbabilities</c>: one
    /// column per tower, positions <c>1..K</c> then "K+"), to maximize <c>Σ_s value_s · score(candidate_s, s)</c> — the
    /// expected clicks of the list when the scores are <c>p(click | candidate, shown at s)</c> and every value is 1.
    /// </summary>
    /// <remarks>
    /// <para>Scores are row-major, <c>candidates x columns</c>; slot <c>s</c> (0-based) reads column <c>min(s, columns - 1)</c>,
    /// so slots past the last per-position tower share the "K+" tower. <c>columns</c> is <c>scores.Length / candidates</c>.</para>
    /// <para><see cref="Greedy(ReadOnlySpan{float}, int, int, ReadOnlySpan{float})"/>: slots are filled one at a time in order of
    /// decreasing value (equal values: the earlier slot first; with the default values, slot 1, then 2, ...); each slot takes,
    /// among the candidates not yet placed, the one with the highest score for that slot (equal scores: the lower index).
    /// <c>O(S · N)</c>. It is optimal when all slots rank the candidates alike (e.g. a position-based click model, where it
    /// gives the single-score order), but not in general: an item much better than the others at slot 2 but only slightly
    /// better at slot 1 is taken by slot 1.</para>
    /// <para><see cref="Optimal(ReadOnlySpan{float}, int, int, ReadOnlySpan{float})"/>: the exact maximum (a maximum-weight
    /// assignment, solved with the Hungarian method with potentials, <c>O(S² · N)</c>: a few microseconds for 10 slots and 50
    /// candidates).</para>
    /// <para>Both return, per slot, the index of the candidate placed there. Bad input (no candidates, a score array whose length
    /// is not a multiple of the candidate count, non-finite scores, fewer candidates than slots, slot values of the wrong length
    /// or negative) throws an <see cref="ArgumentException"/> naming the problem.</para>
    /// </remarks>
    public static class PositionAllocation
    {
        /// <summary>Greedy slot-by-slot allocation (see the remarks of <see cref="PositionAllocation"/>).</summary>
        /// <param name="scores">Row-major <c>candidates x columns</c> scores (e.g. a request's <c>{Task}PositionProbabilities</c>).</param>
        /// <param name="candidates">Number of candidates <c>N</c> (rows of <paramref name="scores"/>).</param>
        /// <param name="slots">Number of slots <c>S</c> to fill, <c>1 ≤ S ≤ N</c>.</param>
        /// <param name="slotValues">Optional value of each slot (<c>S</c> finite values ≥ 0); default all 1.</param>
        /// <returns>For each slot, the index of its candidate (distinct).</returns>
        public static int[] Greedy(ReadOnlySpan<float> scores, int candidates, int slots, ReadOnlySpan<float> slotValues = default)
        {
            int columns = Validate(scores, candidates, slots, slotValues);
            var order = new int[slots];
            for (int s = 0; s < slots; s++)
                order[s] = s;
            if (!slotValues.IsEmpty)
            {
                var values = slotValues.ToArray();
                // stable: decreasing value, the earlier slot first among equal values
                Array.Sort(order, (a, b) => values[a] != values[b] ? values[b].CompareTo(values[a]) : a.CompareTo(b));
            }
            var taken = new bool[candidates];
            var result = new int[slots];
            foreach (int s in order)
            {
                int col = Math.Min(s, columns - 1);
                int best = -1;
                float bestScore = float.NegativeInfinity;
                for (int c = 0; c < candidates; c++)
                {
                    if (taken[c])
                        continue;
                    float v = scores[c * columns + col];
                    if (best < 0 || v > bestScore)
                    {
                        best = c;
                        bestScore = v;
                    }
                }
                taken[best] = true;
                result[s] = best;
            }
            return result;
        }

        /// <summary>Greedy allocation from a jagged score matrix (<c>scores[candidate][column]</c>, all rows the same length).</summary>
        /// <param name="scores">One row per candidate; slot <c>s</c> reads column <c>min(s, columns - 1)</c>.</param>
        /// <param name="slots">Slots to fill; null = the row length.</param>
        /// <param name="slotValues">Optional value of each slot; default all 1.</param>
        /// <returns>For each slot, the index of its candidate.</returns>
        public static int[] Greedy(IReadOnlyList<float[]> scores, int? slots = null, float[]? slotValues = null)
        {
            var flat = Flatten(scores, out int columns);
            return Greedy(flat, scores.Count, slots ?? columns, slotValues);
        }

        /// <summary>The allocation that maximizes <c>Σ_s value_s · score(candidate_s, s)</c> exactly (see the remarks of
        /// <see cref="PositionAllocation"/>).</summary>
        /// <param name="scores">Row-major <c>candidates x columns</c> scores.</param>
        /// <param name="candidates">Number of candidates <c>N</c>.</param>
        /// <param name="slots">Number of slots <c>S</c>, <c>1 ≤ S ≤ N</c>.</param>
        /// <param name="slotValues">Optional value of each slot; default all 1.</param>
        /// <returns>For each slot, the index of its candidate (distinct).</returns>
        public static int[] Optimal(ReadOnlySpan<float> scores, int candidates, int slots, ReadOnlySpan<float> slotValues = default)
        {
            int columns = Validate(scores, candidates, slots, slotValues);
            // minimum-cost assignment of S rows (slots) to N >= S columns (candidates), cost = -value_s * score(c, s);
            // 1-based arrays, index 0 is the virtual start. u, v: potentials; match[c] = slot (1-based) holding candidate c.
            int n = slots, m = candidates;
            var cost = new double[(n + 1) * (m + 1)];
            for (int s = 1; s <= n; s++)
                for (int c = 1; c <= m; c++)
                    cost[s * (m + 1) + c] = -(slotValues.IsEmpty ? 1.0 : slotValues[s - 1]) * scores[(c - 1) * columns + Math.Min(s - 1, columns - 1)];
            var u = new double[n + 1];
            var v = new double[m + 1];
            var match = new int[m + 1];
            var way = new int[m + 1];
            var minSlack = new double[m + 1];
            var used = new bool[m + 1];
            for (int s = 1; s <= n; s++)
            {
                match[0] = s;
                int c0 = 0;
                Array.Fill(minSlack, double.PositiveInfinity);
                Array.Clear(used);
                do
                {
                    used[c0] = true;
                    int s0 = match[c0], c1 = 0;
                    double delta = double.PositiveInfinity;
                    for (int c = 1; c <= m; c++)
                    {
                        if (used[c])
                            continue;
                        double slack = cost[s0 * (m + 1) + c] - u[s0] - v[c];
                        if (slack < minSlack[c])
                        {
                            minSlack[c] = slack;
                            way[c] = c0;
                        }
                        if (minSlack[c] < delta)
                        {
                            delta = minSlack[c];
                            c1 = c;
                        }
                    }
                    for (int c = 0; c <= m; c++)
                    {
                        if (used[c])
                        {
                            u[match[c]] += delta;
                            v[c] -= delta;
                        }
                        else
                            minSlack[c] -= delta;
                    }
                    c0 = c1;
                }
                while (match[c0] != 0);
                // augment along the alternating path back to the start
                do
                {
                    int c1 = way[c0];
                    match[c0] = match[c1];
                    c0 = c1;
                }
                while (c0 != 0);
            }
            var result = new int[n];
            for (int c = 1; c <= m; c++)
                if (match[c] != 0)
                    result[match[c] - 1] = c - 1;
            return result;
        }

        /// <summary>The exact allocation from a jagged score matrix (<c>scores[candidate][column]</c>).</summary>
        /// <param name="scores">One row per candidate; slot <c>s</c> reads column <c>min(s, columns - 1)</c>.</param>
        /// <param name="slots">Slots to fill; null = the row length.</param>
        /// <param name="slotValues">Optional value of each slot; default all 1.</param>
        /// <returns>For each slot, the index of its candidate.</returns>
        public static int[] Optimal(IReadOnlyList<float[]> scores, int? slots = null, float[]? slotValues = null)
        {
            var flat = Flatten(scores, out int columns);
            return Optimal(flat, scores.Count, slots ?? columns, slotValues);
        }

        /// <summary>The objective <c>Σ_s value_s · score(allocation[s], s)</c> of an allocation.</summary>
        /// <param name="scores">Row-major <c>candidates x columns</c> scores.</param>
        /// <param name="candidates">Number of candidates.</param>
        /// <param name="allocation">Candidate index per slot (distinct, in range).</param>
        /// <param name="slotValues">Optional value of each slot; default all 1.</param>
        public static double Value(ReadOnlySpan<float> scores, int candidates, ReadOnlySpan<int> allocation, ReadOnlySpan<float> slotValues = default)
        {
            int columns = Validate(scores, candidates, allocation.Length, slotValues);
            var seen = new bool[candidates];
            double total = 0;
            for (int s = 0; s < allocation.Length; s++)
            {
                int c = allocation[s];
                if (c < 0 || c >= candidates || seen[c])
                    throw new ArgumentException($"Allocation entry {s} is {c}: expected distinct candidate indices in [0, {candidates}).", nameof(allocation));
                seen[c] = true;
                total += (slotValues.IsEmpty ? 1.0 : slotValues[s]) * scores[c * columns + Math.Min(s, columns - 1)];
            }
            return total;
        }

        private static int Validate(ReadOnlySpan<float> scores, int candidates, int slots, ReadOnlySpan<float> slotValues)
        {
            if (candidates < 1)
                throw new ArgumentOutOfRangeException(nameof(candidates), candidates, "Allocation needs at least one candidate.");
            if (scores.Length == 0 || scores.Length % candidates != 0)
                throw new ArgumentException($"The scores have {scores.Length} values, not a positive multiple of the {candidates} candidates (row-major candidates x columns).", nameof(scores));
            if (slots < 1)
                throw new ArgumentOutOfRangeException(nameof(slots), slots, "Allocation needs at least one slot.");
            if (slots > candidates)
                throw new ArgumentException($"There are fewer candidates ({candidates}) than slots ({slots}); every slot needs a distinct candidate.", nameof(candidates));
            for (int i = 0; i < scores.Length; i++)
                if (!float.IsFinite(scores[i]))
                    throw new ArgumentException($"Score of candidate {i / (scores.Length / candidates)}, column {i % (scores.Length / candidates)} is {scores[i]}; scores must be finite.", nameof(scores));
            if (!slotValues.IsEmpty)
            {
                if (slotValues.Length != slots)
                    throw new ArgumentException($"There are {slotValues.Length} slot values for {slots} slots.", nameof(slotValues));
                for (int s = 0; s < slotValues.Length; s++)
                    if (!float.IsFinite(slotValues[s]) || slotValues[s] < 0)
                        throw new ArgumentException($"Value of slot {s + 1} is {slotValues[s]}; slot values must be finite and >= 0.", nameof(slotValues));
            }
            return scores.Length / candidates;
        }

        private static float[] Flatten(IReadOnlyList<float[]> scores, out int columns)
        {
            if (scores is null)
                throw new ArgumentNullException(nameof(scores));
            if (scores.Count == 0)
                throw new ArgumentOutOfRangeException(nameof(scores), "Allocation needs at least one candidate.");
            columns = scores[0]?.Length ?? 0;
            if (columns == 0)
                throw new ArgumentException("Candidate 0 has no scores.", nameof(scores));
            var flat = new float[scores.Count * columns];
            for (int c = 0; c < scores.Count; c++)
            {
                var row = scores[c];
                if (row is null || row.Length != columns)
                    throw new ArgumentException($"Candidate {c} has {row?.Length ?? 0} scores; candidate 0 has {columns} (rows must have the same length).", nameof(scores));
                Array.Copy(row, 0, flat, c * columns, columns);
            }
            return flat;
        }
    }
}
