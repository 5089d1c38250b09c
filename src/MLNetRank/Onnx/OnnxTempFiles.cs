using System;
using System.Diagnostics;
using System.IO;
using System.Threading;

namespace MLNetRank.Onnx
{
    /// <summary>
    /// Temporary ONNX model files for <c>OnnxTransformer</c>. ML.NET's transformer keeps reading its model file by
    /// name (it saves with <c>File.ReadAllBytes(modelFile)</c>), so the file must live as long as the transformer
    /// may be saved; deleting it right after construction breaks <c>mlContext.Model.Save</c>. MLNetRank writes the
    /// files into one folder per process (<c>$TMP/MLNetRank-onnx-&lt;pid&gt;</c>), deletes a file when its owning
    /// transformer is disposed, deletes the folder when the process exits, and removes folders left behind by
    /// processes that no longer run. (<c>ApplyOnnxModel(Stream)</c> instead leaves its copy in
    /// <c>MLContext.TempFilePath</c> forever: DESIGN.md pitfall 3.)
    /// </summary>
    internal static class OnnxTempFiles
    {
        private const string Prefix = "MLNetRank-onnx-";
        private static int _initialized;
        private static readonly string _folder = Path.Combine(Path.GetTempPath(), Prefix + Environment.ProcessId);

        public static string Folder => _folder;

        /// <summary>Writes <paramref name="bytes"/> to a new file in this process's folder and returns its path.</summary>
        public static string Write(byte[] bytes)
        {
            Initialize();
            Directory.CreateDirectory(_folder);
            string path = Path.Combine(_folder, Guid.NewGuid().ToString("N") + ".onnx");
            File.WriteAllBytes(path, bytes);
            return path;
        }

        /// <summary>Deletes <paramref name="path"/> if it can (a file still open elsewhere on Windows is left for process exit).</summary>
        public static void Delete(string? path)
        {
            if (string.IsNullOrEmpty(path))
                return;
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        private static void Initialize()
        {
            if (Interlocked.Exchange(ref _initialized, 1) == 1)
                return;
            AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDeleteFolder(_folder);
            // Folders of processes that ended without running their exit handler (killed, crashed).
            try
            {
                foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), Prefix + "*"))
                {
                    if (!int.TryParse(Path.GetFileName(dir).AsSpan(Prefix.Length), out int pid) || pid == Environment.ProcessId)
                        continue;
                    if (!IsRunning(pid))
                        TryDeleteFolder(dir);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        private static bool IsRunning(int pid)
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                return !p.HasExited;
            }
            catch (ArgumentException)
            {
                return false;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }

        private static void TryDeleteFolder(string dir)
        {
            try
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
