using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.ML;

namespace MLNetRank.Simulation.Datasets
{
    /// <summary>An edge of the DBLP heterogeneous graph, in the layout of the simulator's edges table.</summary>
    public sealed class DblpEdge
    {
        /// <summary>Source node id (a paper id of the raw files).</summary>
        public uint SourceId { get; set; }

        /// <summary>Source node type: "Paper".</summary>
        public string SourceType { get; set; } = "";

        /// <summary>Target node id (author, conference or term id of the raw files).</summary>
        public uint TargetId { get; set; }

        /// <summary>Target node type: "Author", "Conf" or "Term".</summary>
        public string TargetType { get; set; } = "";

        /// <summary>Always 1.</summary>
        public float Weight { get; set; } = 1f;
    }

    /// <summary>A labelled author: its id and research area (0-3).</summary>
    public sealed class DblpAuthorLabel
    {
        /// <summary>Author id of the raw files.</summary>
        public uint AuthorId { get; set; }

        /// <summary>Research area, 0 to 3 (database, data mining, AI, information retrieval in the raw data's coding).</summary>
        public uint Label { get; set; }
    }

    /// <summary>
    /// Loader for the DBLP "four-area" heterogeneous graph in its raw layout (the <c>data/raw/DBLP</c> folder of
    /// github cynricfu/MAGNN): tab-separated, no header, <c>author_label.txt</c> (author id, label 0-3, optional name),
    /// <c>paper_author.txt</c> (paper id, author id), <c>paper_conf.txt</c> (paper id, conference id) and
    /// <c>paper_term.txt</c> (paper id, term id); the other files (names, titles) are not needed. The data's licence
    /// forbids redistribution: callers give the folder. Node types: "Author", "Paper", "Conf", "Term"; edges
    /// Paper-Author, Paper-Conf and Paper-Term (undirected for metapath2vec), so the classic metapaths are
    /// "Author-Paper-Conf-Paper-Author" (APVPA), "Author-Paper-Author" and "Author-Paper-Term-Paper-Author".
    /// </summary>
    public sealed class DblpFourArea
    {
        /// <summary>The files the loader reads.</summary>
        public static IReadOnlyList<string> RequiredFiles { get; } = new[] { "author_label.txt", "paper_author.txt", "paper_conf.txt", "paper_term.txt" };

        private DblpFourArea(List<DblpEdge> edges, List<DblpAuthorLabel> labels)
        {
            Edges = edges;
            AuthorLabels = labels;
            AuthorCount = edges.Where(e => e.TargetType == "Author").Select(e => e.TargetId).Distinct().Count();
            PaperCount = edges.Select(e => e.SourceId).Distinct().Count();
            ConferenceCount = edges.Where(e => e.TargetType == "Conf").Select(e => e.TargetId).Distinct().Count();
            TermCount = edges.Where(e => e.TargetType == "Term").Select(e => e.TargetId).Distinct().Count();
        }

        /// <summary>All edges: Paper-Author, then Paper-Conf, then Paper-Term rows, in file order.</summary>
        public IReadOnlyList<DblpEdge> Edges { get; }

        /// <summary>The labelled authors, in file order.</summary>
        public IReadOnlyList<DblpAuthorLabel> AuthorLabels { get; }

        /// <summary>Authors linked to at least one paper.</summary>
        public int AuthorCount { get; }

        /// <summary>Papers in the edges.</summary>
        public int PaperCount { get; }

        /// <summary>Conferences (venues) in the edges.</summary>
        public int ConferenceCount { get; }

        /// <summary>Terms in the edges.</summary>
        public int TermCount { get; }

        /// <summary>
        /// Reads the raw files of <paramref name="folder"/>.
        /// </summary>
        /// <param name="folder">The folder holding the raw files (e.g. a checkout's <c>data/raw/DBLP</c>).</param>
        /// <param name="labelledAuthorsOnly">True (the default, as MAGNN's preprocessing): keep only papers with a labelled
        /// author, their labelled authors, and those papers' conferences and terms. False: the whole raw graph.</param>
        public static DblpFourArea Load(string folder, bool labelledAuthorsOnly = true)
        {
            if (string.IsNullOrEmpty(folder))
                throw new ArgumentException("Give the folder of the DBLP raw files.", nameof(folder));
            if (!Directory.Exists(folder))
                throw new DirectoryNotFoundException($"DBLP folder '{folder}' not found; expected the raw layout of github cynricfu/MAGNN data/raw/DBLP ({string.Join(", ", RequiredFiles)}).");
            var missing = RequiredFiles.Where(f => !File.Exists(Path.Combine(folder, f))).ToList();
            if (missing.Count > 0)
                throw new FileNotFoundException($"DBLP folder '{folder}' lacks {string.Join(", ", missing)}; the loader needs {string.Join(", ", RequiredFiles)} (tab-separated ids, MAGNN's data/raw/DBLP layout).");

            var labels = new List<DblpAuthorLabel>();
            var labelled = new HashSet<uint>();
            foreach (var (f, line, no) in Rows(folder, "author_label.txt"))
            {
                uint label = Id(f, 1, "author_label.txt", no, line);
                if (label > 3)
                    throw new InvalidDataException($"author_label.txt line {no}: label {label} is not a research area 0-3.");
                uint author = Id(f, 0, "author_label.txt", no, line);
                if (!labelled.Add(author))
                    throw new InvalidDataException($"author_label.txt line {no}: author {author} is labelled twice.");
                labels.Add(new DblpAuthorLabel { AuthorId = author, Label = label });
            }

            var edges = new List<DblpEdge>();
            var papers = new HashSet<uint>();
            foreach (var (f, line, no) in Rows(folder, "paper_author.txt"))
            {
                uint paper = Id(f, 0, "paper_author.txt", no, line), author = Id(f, 1, "paper_author.txt", no, line);
                if (labelledAuthorsOnly && !labelled.Contains(author))
                    continue;
                papers.Add(paper);
                edges.Add(new DblpEdge { SourceId = paper, SourceType = "Paper", TargetId = author, TargetType = "Author" });
            }
            foreach (var (file, type) in new[] { ("paper_conf.txt", "Conf"), ("paper_term.txt", "Term") })
            {
                foreach (var (f, line, no) in Rows(folder, file))
                {
                    uint paper = Id(f, 0, file, no, line), target = Id(f, 1, file, no, line);
                    if (labelledAuthorsOnly && !papers.Contains(paper))
                        continue;
                    edges.Add(new DblpEdge { SourceId = paper, SourceType = "Paper", TargetId = target, TargetType = type });
                }
            }
            return new DblpFourArea(edges, labels);
        }

        /// <summary>The edges as an <see cref="IDataView"/>: SourceId (UInt32), SourceType (String), TargetId (UInt32), TargetType (String), Weight (Single).</summary>
        public IDataView GetEdges(MLContext mlContext)
            => (mlContext ?? throw new ArgumentNullException(nameof(mlContext))).Data.LoadFromEnumerable(Edges);

        /// <summary>The labelled authors as an <see cref="IDataView"/>: AuthorId (UInt32), Label (UInt32, 0-3).</summary>
        public IDataView GetAuthorLabels(MLContext mlContext)
            => (mlContext ?? throw new ArgumentNullException(nameof(mlContext))).Data.LoadFromEnumerable(AuthorLabels);

        private static IEnumerable<(string[] Fields, string Line, int Number)> Rows(string folder, string file)
        {
            int no = 0;
            // Latin-1 never fails to decode: only the numeric first two fields are used (paper.txt is cp1252, others UTF-8).
            foreach (var raw in File.ReadLines(Path.Combine(folder, file), Encoding.Latin1))
            {
                no++;
                var line = raw.TrimEnd('\r');
                if (line.Trim().Length == 0)
                    continue;
                var fields = line.Split('\t');
                if (fields.Length < 2)
                    throw new InvalidDataException($"{file} line {no}: expected at least two tab-separated fields, found \"{Shorten(line)}\".");
                yield return (fields, line, no);
            }
        }

        private static uint Id(string[] fields, int i, string file, int no, string line)
        {
            if (!uint.TryParse(fields[i].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out uint v))
                throw new InvalidDataException($"{file} line {no}: field {i + 1} (\"{Shorten(fields[i])}\") is not a non-negative integer id; line \"{Shorten(line)}\".");
            return v;
        }

        private static string Shorten(string s) => s.Length <= 60 ? s : s[..60] + "...";
    }
}
