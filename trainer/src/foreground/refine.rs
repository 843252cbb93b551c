//! Target refinement of the segmentation CNN (supplementary Sec. 1): late in training, the
//! samples of a batch that the network fits worst are taken to be GrabCut's failures, and
//! their targets are replaced by the network's own thresholded prediction.

/// How many of a batch of `n` are refined at `fraction` (rounded to the nearest count).
pub fn refined_count(n: usize, fraction: f64) -> usize {
    ((n as f64 * fraction).round() as usize).min(n)
}

/// Indices of the `refined_count(losses.len(), fraction)` highest losses, highest first;
/// ties keep batch order. A NaN loss counts as the highest.
pub fn worst(losses: &[f64], fraction: f64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..losses.len()).collect();
    let key = |i: usize| {
        if losses[i].is_nan() {
            f64::INFINITY
        } else {
            losses[i]
        }
    };
    order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    order.truncate(refined_count(losses.len(), fraction));
    order
}

/// Whether epoch `epoch` (0-based) refines, for refinement from 1-based `from_epoch`.
pub fn refines(epoch: u32, from_epoch: u32) -> bool {
    epoch + 1 >= from_epoch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_worst_share_of_a_batch() {
        let losses = [0.1, 0.9, 0.3, 0.9, 0.05, 0.4];
        assert_eq!(worst(&losses, 0.5), vec![1, 3, 5]);
        assert_eq!(worst(&losses, 0.0), Vec::<usize>::new());
        assert_eq!(worst(&losses, 1.0).len(), 6);
        assert_eq!(worst(&[0.2, f64::NAN, 0.7], 0.34), vec![1]);
        assert_eq!(refined_count(5, 0.5), 3);
        assert_eq!(refined_count(1, 0.5), 1);
        assert_eq!(refined_count(4, 2.0), 4);
    }

    #[test]
    fn refinement_starts_at_its_one_based_epoch() {
        assert!(!refines(2, 4));
        assert!(refines(3, 4));
        assert!(refines(4, 4));
        assert!(refines(0, 1));
    }
}
