using System.Collections.Concurrent;

namespace TrainManager.Stages;

/// <summary>
/// Interns fixture names into small integers, so the hot path indexes an array instead of
/// hashing strings. Ids are process-wide and never reused.
/// </summary>
public static class FixtureKeys
{
    private static readonly ConcurrentDictionary<string, int> Ids = new();
    private static readonly List<string> Names = new();
    private static readonly Lock Gate = new();

    public static int Count { get { lock (Gate) return Names.Count; } }

    public static int IdOf(string name)
    {
        if (Ids.TryGetValue(name, out var id)) return id;
        lock (Gate)
        {
            if (Ids.TryGetValue(name, out id)) return id;
            id = Names.Count;
            Names.Add(name);
            Ids[name] = id;
            return id;
        }
    }

    public static string NameOf(int id) { lock (Gate) return Names[id]; }
}
